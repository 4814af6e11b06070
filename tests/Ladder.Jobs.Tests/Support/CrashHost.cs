using System.Diagnostics;

namespace Ladder.Jobs.Tests.Support;

/// <summary>Starts the Ladder.Jobs.CrashHost child app over a queue file.</summary>
internal sealed class CrashHost : IDisposable
{
    private readonly Process _process;

    private CrashHost(Process process) => _process = process;

    public int Pid => _process.Id;

    public static string AppPath
    {
        get
        {
            // tests/Ladder.Jobs.Tests/bin/<config>/net10.0 -> tests/Ladder.Jobs.CrashHost/bin/<config>/net10.0
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var config = testDir.Parent!.Name;
            var path = Path.GetFullPath(Path.Combine(testDir.FullName, "..", "..", "..", "..", "Ladder.Jobs.CrashHost", "bin", config, testDir.Name, "Ladder.Jobs.CrashHost.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Ladder.Jobs.CrashHost first.", path);
        }
    }

    /// <param name="db">The queue file.</param>
    /// <param name="jobs">How many jobs it enqueues and runs.</param>
    /// <param name="runsLogPrefix">Where each process logs the jobs it ran.</param>
    /// <param name="settings">Option pairs of the app (see its Program.cs): gate, poison, concurrency, max-rescues.</param>
    public static CrashHost Start(string db, int jobs, string runsLogPrefix, params (string Name, int Value)[] settings)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(AppPath);
        info.ArgumentList.Add(db);
        info.ArgumentList.Add(jobs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(runsLogPrefix);
        foreach (var (name, value) in settings)
        {
            info.ArgumentList.Add(name);
            info.ArgumentList.Add(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                TestContext.Progress.WriteLine($"crash host {process.Id}: {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        return new CrashHost(process);
    }

    /// <summary>Reads the child's progress until it has run <paramref name="runs"/> jobs (then returns false) or says done (true).</summary>
    public async Task<bool> WaitForRunsOrDoneAsync(int runs, CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line == "done")
            {
                return true;
            }

            if (line.StartsWith("ran ", StringComparison.Ordinal) && int.Parse(line.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture) >= runs)
            {
                return false;
            }
        }

        throw new InvalidOperationException($"The crash host {_process.Id} exited (code {(_process.HasExited ? _process.ExitCode : -1)}) before it was done.");
    }

    /// <summary>Reads the child's progress until it ends: true if it said done, false if it died (it killed itself).</summary>
    public async Task<bool> WaitForDoneOrDeathAsync(CancellationToken cancellationToken)
    {
        while (await _process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line == "done")
            {
                return true;
            }
        }

        await _process.WaitForExitAsync(cancellationToken);
        return false;
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs in the child.</summary>
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
