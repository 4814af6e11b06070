using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Ladder.Sample.Cluster;

/// <summary>PostgreSQL's server programs are not installed (or not where we look).</summary>
internal sealed class PostgresMissingException(string tool, string searched)
    : Exception($"PostgreSQL's '{tool}' is not {searched}. Cluster mode starts its own throwaway PostgreSQL server and needs the " +
        "server programs: install the Debian package 'postgresql' (sudo apt-get install postgresql), or put a folder holding " +
        $"initdb and pg_ctl on PATH (or name it in {LocalPostgres.BinariesVariable}).");

/// <summary>
/// A local PostgreSQL server for cluster mode: <c>initdb</c> into a folder (a temp one, or <c>--keep-data</c>'s), then
/// <c>pg_ctl start</c> on a free loopback port, TCP only. As root it runs as the <c>postgres</c> user (initdb refuses
/// root), through <c>runuser</c>. <see cref="StopAsync"/> stops it; the caller removes a temp folder.
/// </summary>
internal sealed class LocalPostgres
{
    public const string ServerUser = "postgres";

    /// <summary>The environment variable naming the folder of initdb and pg_ctl; when set, the only place searched.</summary>
    public const string BinariesVariable = "LADDER_POSTGRES_BIN";
    public const string Database = "ladder";

    private LocalPostgres(string dataDirectory, int port)
    {
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string LogPath => Path.Combine(DataDirectory, "server.log");

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = ServerUser,
        Database = Database,
        Timeout = 15,
    }.ConnectionString;

    /// <summary>Checks that the server programs exist before anything is created.</summary>
    /// <exception cref="PostgresMissingException">initdb or pg_ctl is missing.</exception>
    public static void EnsureInstalled()
    {
        _ = FindBinary("initdb");
        _ = FindBinary("pg_ctl");
        if (IsRoot() && FindOnPath("runuser") is null)
        {
            throw new InvalidOperationException("Running as root, cluster mode starts PostgreSQL as the 'postgres' user through runuser, which is missing.");
        }
    }

    /// <summary>
    /// Initializes <c>pgdata</c> in <paramref name="folder"/> unless it already holds a cluster, and starts the server.
    /// As root, the folder is given to the server user first (initdb and the server must reach it).
    /// </summary>
    public static async Task<LocalPostgres> StartAsync(string folder, TextWriter progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        GiveToServerUser(folder);
        var dataDirectory = Path.Combine(folder, "pgdata");
        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            await progress.WriteLineAsync($"Creating a PostgreSQL cluster in {dataDirectory} (initdb)...");
            await RunAsync("initdb", ["-D", dataDirectory, "-A", "trust", "-U", ServerUser, "--no-sync", "-E", "UTF8", "--locale=C"], cancellationToken);
        }
        else
        {
            await progress.WriteLineAsync($"Reusing the PostgreSQL cluster in {dataDirectory}.");
        }

        // A free port can be taken between the probe and the bind: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new LocalPostgres(dataDirectory, FreePort());
            try
            {
                await RunAsync("pg_ctl", ["-D", dataDirectory, "start", "-w", "-t", "60", "-l", server.LogPath, "-o", server.Arguments()], cancellationToken);
            }
            catch (InvalidOperationException) when (attempt < 3 && ReadLog(server.LogPath).Contains("could not bind", StringComparison.Ordinal))
            {
                continue;
            }

            await server.CreateDatabaseAsync(cancellationToken);
            return server;
        }
    }

    /// <summary><c>pg_ctl stop -m fast</c>; false when it was not running.</summary>
    public async Task<bool> StopAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync("pg_ctl", ["-D", DataDirectory, "stop", "-w", "-t", "60", "-m", "fast"], CancellationToken.None);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The postmaster's process id, from its pid file (null when it is not running).</summary>
    public int? PostmasterProcessId()
    {
        try
        {
            var first = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private async Task CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = 'ladder'", connection);
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand("CREATE DATABASE ladder", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    // Loopback TCP only (no Unix socket to place), fsync on: a kept database survives a crash of this machine too.
    private string Arguments() => string.Join(' ',
        $"-p {Port}", "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", "-c max_connections=200");

    private static async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var asServerUser = IsRoot();
        var info = new ProcessStartInfo(asServerUser ? "runuser" : FindBinary(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in asServerUser ? ["-u", ServerUser, "--", FindBinary(tool), .. arguments] : arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}");
        }
    }

    /// <summary>
    /// A server program: in the folder <see cref="BinariesVariable"/> names when it is set (that folder only), else on
    /// PATH or in Debian's /usr/lib/postgresql/&lt;version&gt;/bin (the newest).
    /// </summary>
    /// <exception cref="PostgresMissingException">None of those has it.</exception>
    public static string FindBinary(string tool)
    {
        // The one folder, not a first choice before PATH: with several versions installed, naming one must pick it, and
        // a test can show what a machine without PostgreSQL sees although this one has it in /usr/lib/postgresql.
        if (Environment.GetEnvironmentVariable(BinariesVariable) is { Length: > 0 } named)
        {
            var path = Path.Combine(named, tool);
            return File.Exists(path) ? path : throw new PostgresMissingException(tool, $"in {named} ({BinariesVariable})");
        }

        if (FindOnPath(tool) is { } onPath)
        {
            return onPath;
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var found = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin", tool))
                .Where(File.Exists)
                .OrderByDescending(static p => p, StringComparer.Ordinal)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }

        throw new PostgresMissingException(tool, "on PATH nor in /usr/lib/postgresql/*/bin");
    }

    private static string? FindOnPath(string tool)
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);

    private static bool IsRoot() => OperatingSystem.IsLinux() && Environment.UserName == "root";

    private static void GiveToServerUser(string folder)
    {
        if (!IsRoot())
        {
            return;
        }

        using var chown = Process.Start("chown", ["-R", $"{ServerUser}:{ServerUser}", folder]) ?? throw new InvalidOperationException("could not start chown");
        chown.WaitForExit();
        if (chown.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown of {folder} to {ServerUser} failed: is there a '{ServerUser}' user? (the 'postgresql' package makes one)");
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
}
