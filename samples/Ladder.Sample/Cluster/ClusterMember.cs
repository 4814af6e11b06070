using System.Diagnostics;
using System.Globalization;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Cluster;

/// <summary>
/// One host of the cluster: this same executable started as a ladder host on its port over the shared database. Its
/// output is passed on with a "[host N]" prefix; <see cref="Ready"/> completes with its URL once it listens and
/// <see cref="Exited"/> when the process ends, however it ends.
/// </summary>
internal sealed class ClusterMember : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ClusterMember(int number, Process process)
    {
        Number = number;
        _process = process;
    }

    public int Number { get; }

    public int ProcessId { get; private set; }

    public Task<Uri> Ready => _ready.Task;

    /// <summary>The exit code.</summary>
    public Task<int> Exited => _exited.Task;

    public static ClusterMember Start(int number, int port, string connectionString, IReadOnlyList<string> extra, TextWriter output)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("The running executable is unknown.");
        var info = new ProcessStartInfo(processPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            // Started as `dotnet Ladder.Sample.dll`: the host is the same assembly through the same dotnet.
            info.ArgumentList.Add(typeof(ClusterMember).Assembly.Location);
        }

        foreach (var arg in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--postgres", connectionString, .. extra])
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var member = new ClusterMember(number, process);
        var prefix = $"[host {number}] ";
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.WriteLine(prefix + line);
                output.Flush();
            }

            var at = line.IndexOf(LadderHost.ReadyBanner, StringComparison.Ordinal);
            if (at >= 0 && Uri.TryCreate(line[(at + LadderHost.ReadyBanner.Length)..].Split(' ')[0], UriKind.Absolute, out var url))
            {
                member._ready.TrySetResult(url);
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            var code = process.ExitCode;
            member._exited.TrySetResult(code);
            member._ready.TrySetException(new InvalidOperationException($"host {number} exited with code {code} before it listened"));
        };
        process.Start();
        member.ProcessId = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return member;
    }

    /// <summary>SIGTERM (the host's graceful stop: drain jobs, stop its workers); after <paramref name="grace"/> the whole tree is killed.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_exited.Task.IsCompleted)
        {
            return;
        }

        try
        {
            using var term = Process.Start("kill", ["-TERM", ProcessId.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No kill program: the hard stop below still ends it.
        }

        try
        {
            await _exited.Task.WaitAsync(grace, TimeProvider.System);
        }
        catch (TimeoutException)
        {
            Kill();
            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        if (!_exited.Task.IsCompleted)
        {
            Kill();
        }

        _process.Dispose();
    }
}
