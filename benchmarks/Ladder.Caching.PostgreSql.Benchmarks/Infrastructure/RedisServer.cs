using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;

/// <summary>
/// A throwaway <c>redis-server</c> for the FusionCache peer: a free loopback port, no persistence
/// (<c>--save "" --appendonly no</c>), bound to 127.0.0.1, its working folder in a temp folder; killed on dispose.
/// A benchmark process that dies leaves its server behind; the next <see cref="StartAsync"/> kills every server
/// whose owning process is gone (the owner's pid and the server's pid are written in its folder).
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private const string FolderPrefix = "ladder-redis-";
    private readonly Process _process;
    private readonly string _root;
    private int _disposed;

    private RedisServer(Process process, string root, int port)
    {
        _process = process;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string of the server (direct, not through a proxy).</summary>
    public string Endpoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<RedisServer> StartAsync()
    {
        RemoveOrphans();
        var binary = File.Exists("/usr/bin/redis-server")
            ? "/usr/bin/redis-server"
            : throw new FileNotFoundException("redis-server is missing: apt-get install -y redis-server (the package's own service stays stopped; the benchmark starts its own).");
        var root = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        File.WriteAllText(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var info = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = root,
            };
            foreach (var a in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--dir", root])
            {
                info.ArgumentList.Add(a);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
            File.WriteAllText(Path.Combine(root, "redis.pid"), process.Id.ToString(CultureInfo.InvariantCulture));
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    ready.TrySetException(new InvalidOperationException("redis-server exited: " + string.Join('\n', output)));
                    return;
                }

                output.Enqueue(e.Data);
                if (e.Data.Contains("Ready to accept connections", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    output.Enqueue(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return new RedisServer(process, root, port);
            }
            catch (Exception) when (attempt < 3 && string.Join('\n', output).Contains("Address already in use", StringComparison.Ordinal))
            {
                // The free port was taken between the probe and the bind: try another.
                Kill(process);
                process.Dispose();
            }
            catch
            {
                Kill(process);
                process.Dispose();
                TryDelete(root);
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill(_process);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        TryDelete(_root);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills the servers of benchmark processes that died before disposing them.</summary>
    private static void RemoveOrphans()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            if (!TryReadPid(Path.Combine(dir, "owner.pid"), out var owner) || IsAlive(owner, null))
            {
                continue;
            }

            if (TryReadPid(Path.Combine(dir, "redis.pid"), out var server) && IsAlive(server, "redis-server"))
            {
                using var process = Process.GetProcessById(server);
                Kill(process);
            }

            TryDelete(dir);
        }
    }

    private static bool TryReadPid(string file, out int pid)
    {
        pid = 0;
        return File.Exists(file) && int.TryParse(File.ReadAllText(file), CultureInfo.InvariantCulture, out pid);
    }

    private static bool IsAlive(int pid, string? name)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && (name is null || process.ProcessName.StartsWith(name, StringComparison.Ordinal));
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
