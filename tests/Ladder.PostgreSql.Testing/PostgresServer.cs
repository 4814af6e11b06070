using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Ladder.PostgreSql.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster: <c>initdb</c> into a temp folder, <c>pg_ctl start</c> on a free loopback port
/// (its Unix socket in the same folder), stopped and removed on dispose. When the tests run as root (CI, these
/// machines) the server runs as the <c>postgres</c> user, because <c>initdb</c> refuses root.
/// </summary>
/// <remarks>
/// A test process that dies leaves its cluster behind; the next <see cref="StartAsync"/> stops and removes every
/// cluster whose owning process is gone (the owner's pid is written beside the data folder).
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string FolderPrefix = "ladder-pg-";
    private static readonly string SuperUser = "postgres";
    private int _disposed;

    private PostgresServer(string root, int port, PostgresServerOptions options)
    {
        Root = root;
        Port = port;
        Options = options;
    }

    /// <summary>The temp folder holding the data folder, the socket and the server log.</summary>
    public string Root { get; }

    /// <summary>The data folder.</summary>
    public string DataDirectory => Path.Combine(Root, "data");

    /// <summary>The loopback TCP port.</summary>
    public int Port { get; }

    /// <summary>The options the cluster was started with.</summary>
    public PostgresServerOptions Options { get; }

    /// <summary>The server log (everything the postmaster wrote).</summary>
    public string LogPath => Path.Combine(Root, "server.log");

    /// <summary>A connection string to <paramref name="database"/> over loopback TCP as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Database = database,
        // Tests restart the server on purpose: do not keep dead connections around longer than needed.
        Pooling = true,
        Timeout = 15,
        CommandTimeout = 60,
    }.ConnectionString;

    /// <summary>Starts a new cluster (about a second here).</summary>
    public static async Task<PostgresServer> StartAsync(PostgresServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PostgresServerOptions();
        RemoveOrphans();
        var root = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        File.WriteAllText(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            GiveToServerUser(root);
            await RunAsync("initdb", ["-D", Path.Combine(root, "data"), "-A", "trust", "-U", SuperUser, "--no-sync", "-E", "UTF8", "--locale=C"], cancellationToken).ConfigureAwait(false);
            // A free port can be taken between the probe and the bind: try a few.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                var server = new PostgresServer(root, port, options);
                try
                {
                    await server.PgCtlAsync(["start", "-w", "-t", "60", "-l", server.LogPath, "-o", server.ServerArguments()], cancellationToken).ConfigureAwait(false);
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3 && ReadLog(server.LogPath).Contains("could not bind", StringComparison.Ordinal))
                {
                }
            }
        }
        catch
        {
            TryDelete(root);
            throw;
        }
    }

    /// <summary>Creates a database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return ConnectionString(name);
    }

    /// <summary>Runs SQL as the superuser on <paramref name="database"/>.</summary>
    public async Task ExecuteAsync(string sql, string database = "postgres", CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Terminates the backends of other sessions (all, or those whose <c>application_name</c> is
    /// <paramref name="applicationName"/>), as an administrator's <c>pg_terminate_backend</c> would. Returns how many.
    /// </summary>
    public async Task<int> TerminateBackendsAsync(string? applicationName = null, CancellationToken cancellationToken = default)
    {
        // A non-pooled connection: the terminating session must not be one of the pooled ones it may kill next.
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString()) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
              AND ($1::text IS NULL OR application_name = $1)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)applicationName ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var count = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        return (int)count;
    }

    /// <summary><c>pg_ctl restart -m fast</c> (or another mode): every connection is closed, the server comes back on the same port.</summary>
    public Task RestartAsync(string mode = "fast", CancellationToken cancellationToken = default) =>
        PgCtlAsync(["restart", "-w", "-t", "60", "-m", mode, "-l", LogPath, "-o", ServerArguments()], cancellationToken);

    /// <summary>Stops the server (it can be started again with <see cref="StartAgainAsync"/>).</summary>
    public Task StopAsync(string mode = "fast", CancellationToken cancellationToken = default) =>
        PgCtlAsync(["stop", "-w", "-t", "60", "-m", mode], cancellationToken);

    /// <summary>Starts a stopped server again on the same port.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) =>
        PgCtlAsync(["start", "-w", "-t", "60", "-l", LogPath, "-o", ServerArguments()], cancellationToken);

    /// <summary>Stops the server (immediate) and removes its folder. Harmless twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            await PgCtlAsync(["stop", "-w", "-t", "60", "-m", "immediate"], CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Already stopped (a test stopped it, or it died): the folder goes all the same.
        }

        TryDelete(Root);
    }

    private string ServerArguments()
    {
        var settings = new List<string>
        {
            $"-p {Port}",
            "-c listen_addresses=127.0.0.1",
            $"-c unix_socket_directories='{Root}'",
            $"-c fsync={(Options.Fsync ? "on" : "off")}",
            $"-c synchronous_commit={(Options.Fsync ? "on" : "off")}",
            $"-c max_connections={Options.MaxConnections}",
            "-c shared_buffers=128MB",
        };
        settings.AddRange(Options.Settings.Select(s => $"-c {s}"));
        return string.Join(' ', settings);
    }

    private Task PgCtlAsync(string[] arguments, CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["-D", DataDirectory, .. arguments], cancellationToken);

    private static async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var asServerUser = IsRoot();
        var info = new ProcessStartInfo(asServerUser ? "runuser" : FindBinary(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asServerUser)
        {
            foreach (var a in (string[])["-u", SuperUser, "--", FindBinary(tool)])
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr.ConfigureAwait(false)}{await stdout.ConfigureAwait(false)}");
        }
    }

    /// <summary>Finds a server binary on PATH or in Debian's /usr/lib/postgresql/&lt;version&gt;/bin.</summary>
    public static string FindBinary(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var found = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin", tool))
                .Where(File.Exists)
                .OrderByDescending(p => p, StringComparer.Ordinal)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }

        throw new FileNotFoundException($"PostgreSQL's '{tool}' is not on PATH nor in /usr/lib/postgresql/*/bin: install Debian's 'postgresql' package (bash .ci/install-deps does).", tool);
    }

    private static bool IsRoot() => OperatingSystem.IsLinux() && Environment.UserName == "root";

    private static void GiveToServerUser(string root)
    {
        if (!IsRoot())
        {
            return;
        }

        // The folder and the socket live in a root-owned temp folder; the server user must own its part.
        using var chown = Process.Start("chown", ["-R", $"{SuperUser}:{SuperUser}", root]) ?? throw new InvalidOperationException("could not start chown");
        chown.WaitForExit();
        if (chown.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown of {root} to {SuperUser} failed: is there a '{SuperUser}' user? (bash .ci/install-deps makes one)");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ReadLog(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Stops and removes clusters left by test processes that died before disposing them.</summary>
    private static void RemoveOrphans()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var ownerFile = Path.Combine(dir, "owner.pid");
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), CultureInfo.InvariantCulture, out var owner) || IsAlive(owner))
            {
                continue;
            }

            if (File.Exists(Path.Combine(dir, "data", "postmaster.pid")))
            {
                try
                {
                    RunAsync("pg_ctl", ["-D", Path.Combine(dir, "data"), "stop", "-w", "-t", "30", "-m", "immediate"], CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (InvalidOperationException)
                {
                    // Not running any more: remove the folder all the same.
                }
            }

            TryDelete(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>How a <see cref="PostgresServer"/> is started.</summary>
public sealed record PostgresServerOptions
{
    /// <summary><c>fsync</c> and <c>synchronous_commit</c>: off by default in tests (a process crash loses nothing either way; only an OS crash would); on for benchmarks.</summary>
    public bool Fsync { get; init; }

    /// <summary><c>max_connections</c>.</summary>
    public int MaxConnections { get; init; } = 200;

    /// <summary>More <c>name=value</c> server settings.</summary>
    public IReadOnlyList<string> Settings { get; init; } = [];
}
