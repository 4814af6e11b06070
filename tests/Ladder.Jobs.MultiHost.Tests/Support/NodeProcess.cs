using System.Diagnostics;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>One incarnation of a Ladder.Jobs.TestNode process: started, then stopped (stdin closed) or killed (SIGKILL).</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly Process _process;

    private NodeProcess(Process process, string name, string logPath)
    {
        _process = process;
        Name = name;
        LogPath = logPath;
    }

    /// <summary>The incarnation's host name, as in its log lines (slot and incarnation: "n2.3").</summary>
    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    private static string AppPath
    {
        get
        {
            // tests/Ladder.Jobs.MultiHost.Tests/bin/<config>/net10.0 -> tests/Ladder.Jobs.TestNode/bin/<config>/net10.0
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var config = testDir.Parent!.Name;
            var path = Path.GetFullPath(Path.Combine(testDir.FullName, "..", "..", "..", "..", "Ladder.Jobs.TestNode", "bin", config, testDir.Name, "Ladder.Jobs.TestNode.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Ladder.Jobs.TestNode first.", path);
        }
    }

    /// <summary>Starts a node; <paramref name="stderr"/> receives its log lines (warnings and worse).</summary>
    public static NodeProcess Start(string name, string logPath, IEnumerable<string> arguments, Action<string> stderr)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AppPath);
        foreach (var argument in (string[])["--host", name, "--log", logPath, .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start the test node {name}");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr($"{name} (pid {process.Id}): {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        return new NodeProcess(process, name, logPath);
    }

    /// <summary>Waits for the node's "ready" (its processor runs).</summary>
    public async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line == "ready")
            {
                return;
            }
        }

        await _process.WaitForExitAsync(cancellationToken);
        throw new InvalidOperationException($"The test node {Name} (pid {_process.Id}) exited with {_process.ExitCode} before it was ready.");
    }

    /// <summary>SIGKILL (Process.Kill on Linux): no code of the node runs after it.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(cancellationToken);
    }

    /// <summary>Closes stdin: the node stops gracefully and exits; returns its exit code.</summary>
    public async Task<int> StopAsync(CancellationToken cancellationToken)
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
