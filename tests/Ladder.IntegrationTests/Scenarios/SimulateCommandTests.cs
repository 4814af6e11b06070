using System.Diagnostics;
using Ladder.IntegrationTests.Support;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>The <c>simulate</c> command, as a user runs it: a second process driving a running host over HTTP.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SimulateCommandTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task Simulate_PlaysASeasonWithDuplicatesCorruptAndHangingReplays_AndPrintsTheSummary(CancellationToken ct)
    {
        var output = await SimulateAsync(players: 8, matches: 16, ct);

        output.Should().Contain("matches rated").And.Contain("matches/s").And.Contain("leaderboard         p50")
            .And.Contain("jobs by final state").And.Contain("succeeded").And.Contain("worker pool");
    }

    [Test]
    [Category("Soak")]
    [CancelAfter(600_000)]
    public async Task Simulate_AtScale_DrainsEveryUpload(CancellationToken ct)
    {
        var output = await SimulateAsync(players: SoakScale.Pick(40, 200), matches: SoakScale.Pick(300, 3000), ct);

        output.Should().Contain("jobs by final state").And.NotContain("unfinished").And.NotContain("HTTP errors");
    }

    private static async Task<string> SimulateAsync(int players, int matches, CancellationToken ct)
    {
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct,
            "--Ladder:ParseDeadline=00:00:01", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:00:00.2");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[SampleHostProcess.HostAssembly, "simulate", "--url", host.Url.ToString(), "--players", $"{players}",
            "--matches", $"{matches}", "--concurrency", "3", "--duplicates", "0.2", "--corrupt", "0.1", "--hanging", "0.05", "--seed", "42", "--wait", "300"])
        {
            start.ArgumentList.Add(arg);
        }

        using var simulate = Process.Start(start)!;
        var stdout = simulate.StandardOutput.ReadToEndAsync(ct);
        var stderr = simulate.StandardError.ReadToEndAsync(ct);
        try
        {
            await simulate.WaitForExitAsync(ct);
        }
        finally
        {
            if (!simulate.HasExited)
            {
                simulate.Kill(entireProcessTree: true);
            }
        }

        var output = await stdout;
        simulate.ExitCode.Should().Be(0, $"simulate drains every upload\n{output}\n{await stderr}\n{host.Output}");
        TestContext.Out.WriteLine(output);
        return output;
    }
}
