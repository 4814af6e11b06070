using System.Diagnostics;
using System.Reflection;
using System.Text;
using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;

namespace Ladder.IntegrationTests.Support;

/// <summary>
/// The real sample host as a child process (<c>dotnet Ladder.Sample.dll --urls http://127.0.0.1:0 --data ...</c>):
/// real HTTP, real SQLite file, real worker processes. Kill -9 tests need it out of process.
/// </summary>
public sealed class SampleHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpClient? _http;

    private SampleHostProcess(Process process)
    {
        _process = process;
    }

    public int ProcessId => _process.Id;

    public Uri Url => _ready.Task.IsCompletedSuccessfully ? _ready.Task.Result : throw new InvalidOperationException("The host is not ready.");

    internal LadderClient Client => new(_http ??= new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) });

    /// <summary>Everything the host wrote to stdout and stderr so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string HostAssembly { get; } = typeof(SampleHostProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleHostAssembly").Value!;

    /// <summary>Starts the host on a free loopback port over <paramref name="dataPath"/> and waits until it serves.</summary>
    public static async Task<SampleHostProcess> StartAsync(string dataPath, CancellationToken cancellationToken, params string[] settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[HostAssembly, "--urls", "http://127.0.0.1:0", "--data", dataPath, "--Ladder:DemoData=false", .. settings])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Information";
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new SampleHostProcess(process);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            host._exited.TrySetResult();
            host._ready.TrySetException(new InvalidOperationException($"The host exited with {process.ExitCode} before it was ready:\n{host.Output}"));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host._ready.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        var at = line.IndexOf(LadderHost.ReadyBanner, StringComparison.Ordinal);
        if (at >= 0)
        {
            var url = line[(at + LadderHost.ReadyBanner.Length)..].Split(' ')[0];
            _ready.TrySetResult(new Uri(url));
        }
    }

    /// <summary>The host's direct child processes (its parser workers), read from /proc.</summary>
    public IReadOnlyList<int> ChildProcessIds() => ProcessTree.ChildrenOf(_process.Id);

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        _process.Kill(entireProcessTree: false);
        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
    }

    /// <summary>SIGTERM: the host's graceful shutdown (drain jobs, stop workers). Returns the exit code.</summary>
    public async Task<int> StopAsync(CancellationToken cancellationToken)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (!_exited.Task.IsCompleted)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        _process.Dispose();
    }
}
