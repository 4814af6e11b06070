using System.Diagnostics;

namespace Ladder.Caching.PostgreSql.Tests.Support;

/// <summary>Starts the Ladder.Caching.PostgreSql.TestNode app: a cache node in a process of its own.</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly Process _process;

    private NodeProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    private static string AppPath
    {
        get
        {
            // tests/Ladder.Caching.PostgreSql.Tests/bin/<config>/net10.0 -> tests/Ladder.Caching.PostgreSql.TestNode/bin/<config>/net10.0
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var config = testDir.Parent!.Name;
            var path = Path.GetFullPath(Path.Combine(testDir.FullName, "..", "..", "..", "..", "Ladder.Caching.PostgreSql.TestNode", "bin", config, testDir.Name, "Ladder.Caching.PostgreSql.TestNode.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Ladder.Caching.PostgreSql.TestNode first.", path);
        }
    }

    public static NodeProcess Start(string connectionString, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AppPath);
        info.ArgumentList.Add(connectionString);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                TestContext.Progress.WriteLine($"node {process.Id}: {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        return new NodeProcess(process);
    }

    /// <summary>Reads stdout until a line starting with <paramref name="prefix"/>; returns it.</summary>
    public async Task<string> ReadLineStartingWithAsync(string prefix, CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException($"The test node {_process.Id} exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before printing '{prefix}'.");
    }

    /// <summary>Closes stdin: a reader stops reading and reports.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no code runs in the child after it.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync(cancellationToken);
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
