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
    [CancelAfter(60_000)]
    public async Task Simulate_WithNoHostRunning_SaysSoAndHowToStartOne_WithoutAStackTrace(CancellationToken ct)
    {
        var url = $"http://127.0.0.1:{SampleCommand.FreeLoopbackPort()}/";

        var result = await SampleCommand.RunAsync(["simulate", "--url", url, "--matches", "1"], ct);

        result.ExitCode.Should().Be(3, result.ToString());
        result.StandardError.Should().Contain(url).And.Contain("dotnet run --project samples/Ladder.Sample", result.ToString());
        result.Output.Should().NotContain("   at ", "an unreachable host is a message, not a stack trace");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Simulate_Help_ShowsTheSimulateCommandAndItsOptions(CancellationToken ct)
    {
        var result = await SampleCommand.RunAsync(["simulate", "--help"], ct);

        result.ExitCode.Should().Be(0, result.ToString());
        result.StandardOutput.Should().Contain("simulate [options]").And.Contain("--corrupt").And.Contain("--seed");
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task Simulate_AtTheDefaultShares_SendsEachShareOfTheMatches_AndPrintsTheSeed(CancellationToken ct)
    {
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct,
            "--Ladder:ParseDeadline=00:00:01", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:00:00.2");

        var result = await SampleCommand.RunAsync(["simulate", "--url", host.Url.ToString(), "--players", "8", "--matches", "200"], ct);

        result.ExitCode.Should().Be(0, $"{result}\n{host.Output}");
        result.StandardOutput.Should().Contain("4 corrupt, 2 hanging", "the defaults are 2 % corrupt and 1 % hanging of 200 matches")
            .And.Contain("10 duplicate uploads", "and 5 % uploaded twice");
        result.StandardOutput.Should().MatchRegex(@"seed\s+-?\d+", "a run can be repeated only if its seed is known");
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
        var result = await SampleCommand.RunAsync(
            ["simulate", "--url", host.Url.ToString(), "--players", $"{players}", "--matches", $"{matches}", "--concurrency", "3",
                "--duplicates", "0.2", "--corrupt", "0.1", "--hanging", "0.05", "--seed", "42", "--wait", "300"], ct);

        var output = result.StandardOutput;
        result.ExitCode.Should().Be(0, $"simulate drains every upload\n{result}\n{host.Output}");
        TestContext.Out.WriteLine(output);
        return output;
    }
}
