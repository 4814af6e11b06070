using Ladder.IntegrationTests.Support;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Ladder.Sample.Simulate;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// The host process dies (SIGKILL) or stops (SIGTERM) around its jobs; after a restart on the same SQLite file every
/// upload is processed, and counted exactly once.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CrashRecoveryTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => _folder.Dispose();

    [TestCase(1)]
    [TestCase(3)]
    [CancelAfter(180_000)]
    public async Task JobsEnqueuedBeforeACrash_SurviveTheRestart_AndAreProcessed(int jobs, CancellationToken ct)
    {
        var uploads = new List<(Match Match, UploadResponse Upload, long WinnerId)>();
        await using (var host = await SampleHostProcess.StartAsync(_folder.Path, ct, "--Ladder:ProcessJobs=false"))
        {
            for (var i = 0; i < jobs; i++)
            {
                var (a, b) = (await LadderWorld.PlayerAsync(host.Client, "KR", ct), await LadderWorld.PlayerAsync(host.Client, "KR", ct));
                var (match, spec) = await LadderWorld.MatchAsync(host.Client, a, Race.Terran, b, Race.Zerg, winnerIndex: i % 2, ct);
                var upload = await host.Client.UploadReplayAsync(match.Id, ReplayGenerator.Create(spec), ct);
                (await host.Client.GetReplayStatusAsync(upload.Hash, ct)).JobState.Should().BeOneOf("ready", "scheduled");
                uploads.Add((match, upload, i % 2 == 0 ? a.Id : b.Id));
            }

            await host.KillAsync(ct);
        }

        await using var restarted = await SampleHostProcess.StartAsync(_folder.Path, ct);
        foreach (var (match, upload, winnerId) in uploads)
        {
            var status = await LadderWorld.FinalAsync(restarted.Client, upload.Hash, ct);
            status.JobState.Should().Be("succeeded", status.Reason);
            var recorded = await restarted.Client.GetMatchAsync(match.Id, ct);
            recorded.State.Should().Be("completed");
            recorded.WinnerId.Should().Be(winnerId);
        }
    }

    [Test]
    [CancelAfter(240_000)]
    public Task KillDashNine_DuringProcessing_CountsEveryUploadExactlyOnceAfterRestart(CancellationToken ct)
        => PlayThroughKillsAsync(matches: 12, kills: 1, depth: 24, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(900_000)]
    public Task KillDashNine_RepeatedlyDuringASeason_CountsEveryUploadExactlyOnce(CancellationToken ct)
        => PlayThroughKillsAsync(matches: SoakScale.Pick(100, 1000), kills: SoakScale.Pick(4, 12), depth: 21, ct);

    /// <summary>
    /// Uploads a season of slow-to-parse replays, SIGKILLs the host <paramref name="kills"/> times while the queue is
    /// part-way through (restarting it on the same file each time), then checks every upload counted exactly once.
    /// </summary>
    private async Task PlayThroughKillsAsync(int matches, int kills, int depth, CancellationToken ct)
    {
        string[] settings = ["--Ladder:ParseDeadline=00:00:20", "--Ladder:JobConcurrency=2", "--Ladder:WorkerCount=2", "--Ladder:JobLease=00:00:04"];
        var hashes = new List<string>();
        var matchIds = new List<long>();
        var players = new List<Player>();
        var host = await SampleHostProcess.StartAsync(_folder.Path, ct, settings);
        try
        {
            for (var i = 0; i < 4; i++)
            {
                players.Add(await LadderWorld.PlayerAsync(host.Client, "UA", ct));
            }

            for (var m = 0; m < matches; m++)
            {
                var (a, b) = (players[m % 4], players[(m + 1 + (m / 4 % 3)) % 4]);
                var (match, spec) = await LadderWorld.MatchAsync(host.Client, a, Race.Protoss, b, Race.Protoss, winnerIndex: m % 2, ct);
                matchIds.Add(match.Id);
                hashes.Add((await host.Client.UploadReplayAsync(match.Id, ReplayGenerator.CreateSlow(spec, depth), ct)).Hash);
            }

            for (var k = 1; k <= kills; k++)
            {
                // Kill while the queue is part-way through: more results recorded than at the last kill, work still queued.
                var target = k * matches / (kills + 1);
                await Eventually.WaitAsync(async c => (await host.Client.GetJobCountsAsync(c)).ByState.GetValueOrDefault("succeeded"),
                    done => done >= target, TimeSpan.FromSeconds(120), ct, $"{target} parses to finish");
                var workers = host.ChildProcessIds();
                await host.KillAsync(ct);
                await host.DisposeAsync();

                // The orphaned workers notice their host is gone (stdin closes) and exit: nothing is left behind.
                await Eventually.WaitAsync(_ => Task.FromResult(workers.Count(ProcessTree.IsAlive)), static alive => alive == 0,
                    TimeSpan.FromSeconds(30), ct, "the killed host's workers to exit");
                host = await SampleHostProcess.StartAsync(_folder.Path, ct, settings);
            }

            foreach (var hash in hashes)
            {
                var final = await LadderWorld.FinalAsync(host.Client, hash, ct, ceilingSeconds: 300);
                final.JobState.Should().Be("succeeded", "every upload is processed (job {0}: {1} attempts, {2} runs, reason: {3})", final.JobId, final.Attempts, final.Runs, final.Reason);
            }

            // Exactly once in effect: each rating is 1500 plus the changes of that player's completed matches, and
            // games count those matches once.
            var expected = players.ToDictionary(p => p.Id, _ => (Games: 0, Change: 0));
            foreach (var id in matchIds)
            {
                var match = await host.Client.GetMatchAsync(id, ct);
                match.State.Should().Be("completed");
                expected[match.Player1Id] = (expected[match.Player1Id].Games + 1, expected[match.Player1Id].Change + match.Change1!.Value);
                expected[match.Player2Id] = (expected[match.Player2Id].Games + 1, expected[match.Player2Id].Change + match.Change2!.Value);
            }

            foreach (var player in players)
            {
                var rating = (await host.Client.GetProfileAsync(player.Id, ct)).Ratings.Should().ContainSingle().Subject;
                rating.Games.Should().Be(expected[player.Id].Games);
                rating.Rating.Should().Be(Elo.StartRating + expected[player.Id].Change);
            }

            expected.Values.Sum(e => e.Games).Should().Be(2 * matches, "every match counted once for each of its two players");
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task GracefulShutdown_LetsTheRunningParseFinish_AndLeavesNoWorkerBehind(CancellationToken ct)
    {
        string hash;
        await using (var host = await SampleHostProcess.StartAsync(_folder.Path, ct, "--Ladder:ParseDeadline=00:00:20"))
        {
            var (a, b) = (await LadderWorld.PlayerAsync(host.Client, "BR", ct), await LadderWorld.PlayerAsync(host.Client, "BR", ct));
            var (match, spec) = await LadderWorld.MatchAsync(host.Client, a, Race.Zerg, b, Race.Terran, winnerIndex: 0, ct);
            hash = (await host.Client.UploadReplayAsync(match.Id, ReplayGenerator.CreateSlow(spec, depth: 24), ct)).Hash;
            await Eventually.WaitAsync(c => host.Client.GetReplayStatusAsync(hash, c), static s => s.JobState is "running" or "succeeded",
                TimeSpan.FromSeconds(30), ct, "the parse to start");
            var workers = host.ChildProcessIds();

            (await host.StopAsync(ct)).Should().Be(0, host.Output);
            workers.Where(ProcessTree.IsAlive).Should().BeEmpty("graceful shutdown stops every worker");
        }

        await using var restarted = await SampleHostProcess.StartAsync(_folder.Path, ct, "--Ladder:ProcessJobs=false");
        var status = await restarted.Client.GetReplayStatusAsync(hash, ct);
        status.JobState.Should().Be("succeeded", "the running parse was allowed to finish during shutdown");
        status.MatchState.Should().Be("completed");
    }
}
