using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ladder.IntegrationTests.Support;

/// <summary>What a finished run of the sample's executable printed, and how it ended.</summary>
public sealed record SampleCommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public string Output => StandardOutput + StandardError;

    public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
}

/// <summary>
/// Runs the sample's executable (<c>dotnet Ladder.Sample.dll ...</c>) to its end, as a user runs it from a shell:
/// a host that refuses to start, or the <c>simulate</c> command.
/// </summary>
public static class SampleCommand
{
    public static Task<SampleCommandResult> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
        => RunAsync(args, new Dictionary<string, string>(), cancellationToken);

    /// <summary>As <see cref="RunAsync(IEnumerable{string}, CancellationToken)"/>, with these variables added to its environment.</summary>
    public static async Task<SampleCommandResult> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(SampleHostProcess.HostAssembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return new SampleCommandResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A loopback port nothing listens on right now (the OS picks it).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
