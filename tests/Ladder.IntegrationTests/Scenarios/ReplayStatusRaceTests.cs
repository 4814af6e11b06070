using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Ladder.Sample.Replays;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// A replay's status reads the job and the match one after the other. A CI run of the three-host season counted
/// 8 matches rated of 9 succeeded jobs: a job finished between the two reads, and the status paired the match as read
/// before (still "created") with the job as read after ("succeeded"). Here a status read is held between its reads
/// on one host (in-process, not processing jobs) while a second host on the same SQLite files parses the replay.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ReplayStatusRaceTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task StatusRead_WhileTheJobFinishesOnAnotherHost_NeverPairsASucceededJobWithAnUnplayedMatch(CancellationToken ct)
    {
        using var folder = new TempFolder();
        var gate = new HoldOnce();
        await using var app = await InProcessHost.StartAsync(
            folder.Path, ["--Ladder:ProcessJobs=false"], services => services.AddSingleton<ReplayStatusObserver>(new Held(gate)), ct);
        var client = app.Client;
        var (a, b) = (await LadderWorld.PlayerAsync(client, "SE", ct), await LadderWorld.PlayerAsync(client, "SE", ct));
        var (match, spec) = await LadderWorld.MatchAsync(client, a, Race.Protoss, b, Race.Terran, 0, ct);
        var upload = await client.UploadReplayAsync(match.Id, ReplayGenerator.Create(spec), ct);
        var waiting = await client.GetReplayStatusAsync(upload.Hash, ct);
        (waiting.JobState, waiting.MatchState).Should().Be(("ready", "created"), "this host does not process jobs");

        // A status read on this host has done its first read and is held before its second...
        gate.Arm();
        var held = client.GetReplayStatusAsync(upload.Hash, ct);
        await gate.Reached.WaitAsync(ct);

        // ...while a second host parses the replay: the match's result commits, then the job's success.
        await using (var processor = await SampleHostProcess.StartAsync(folder.Path, ct, "--Ladder:WorkerCount=1"))
        {
            var final = await LadderWorld.FinalAsync(processor.Client, upload.Hash, ct, ceilingSeconds: 120);
            (final.JobState, final.MatchState).Should().Be(("succeeded", "completed"));
        }

        gate.Release();
        var status = await held;
        status.JobState.Should().Be("ready", "the held read read the job before the second host ran it");
        status.MatchState.Should().Be("completed", "and the match after the result committed");

        var after = await client.GetReplayStatusAsync(upload.Hash, ct);
        (after.JobState, after.MatchState, after.Runs).Should().Be(("succeeded", "completed", 1));
        await app.StopAsync(ct);
    }

    private sealed class Held(HoldOnce gate) : ReplayStatusObserver
    {
        public override ValueTask BetweenReadsAsync(CancellationToken cancellationToken) => gate.HoldAsync(cancellationToken);
    }
}
