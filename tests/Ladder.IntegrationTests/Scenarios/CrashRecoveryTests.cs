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
    public async Task KillDashNine_DuringProcessing_CountsEveryUploadExactlyOnceAfterRestart(CancellationToken ct)
    {
        const int Matches = 12;
        var settings = new[] { "--Ladder:ParseDeadline=00:00:20", "--Ladder:JobConcurrency=2", "--Ladder:WorkerCount=2", "--Ladder:JobLease=00:00:04" };
        var hashes = new List<string>();
        var players = new List<Player>();
        await using (var host = await SampleHostProcess.StartAsync(_folder.Path, ct, settings))
        {
            for (var i = 0; i < 4; i++)
            {
                players.Add(await LadderWorld.PlayerAsync(host.Client, "UA", ct));
            }

            for (var m = 0; m < Matches; m++)
            {
                var (a, b) = (players[m % 4], players[(m + 1 + (m / 4)) % 4]);
                if (a.Id == b.Id)
                {
                    b = players[(m + 2) % 4];
                }

                var (match, spec) = await LadderWorld.MatchAsync(host.Client, a, Race.Protoss, b, Race.Protoss, winnerIndex: m % 2, ct);
                hashes.Add((await host.Client.UploadReplayAsync(match.Id, ReplayGenerator.CreateSlow(spec, depth: 24), ct)).Hash);
            }

            // Kill while the queue is part-way through: at least one result recorded, work still in flight.
            await Eventually.WaitAsync(async c => (await host.Client.GetJobCountsAsync(c)).ByState.GetValueOrDefault("succeeded"),
                static done => done >= 1, TimeSpan.FromSeconds(90), ct, "a first parse to finish");
            var workers = host.ChildProcessIds();
            await host.KillAsync(ct);

            // The orphaned workers notice their host is gone (stdin closes) and exit: nothing is left behind.
            await Eventually.WaitAsync(_ => Task.FromResult(workers.Count(ProcessTree.IsAlive)), static alive => alive == 0,
                TimeSpan.FromSeconds(30), ct, "the killed host's workers to exit");
        }

        await using var restarted = await SampleHostProcess.StartAsync(_folder.Path, ct, settings);
        foreach (var hash in hashes)
        {
            (await LadderWorld.FinalAsync(restarted.Client, hash, ct, ceilingSeconds: 150)).JobState.Should().Be("succeeded");
        }

        // Exactly once in effect: each rating is 1500 plus the changes of that player's completed matches, and
        // games count those matches once.
        foreach (var player in players)
        {
            var profile = await restarted.Client.GetProfileAsync(player.Id, ct);
            var matches = profile.RecentMatches.Where(m => m.State == "completed").ToList();
            var change = matches.Sum(m => m.Player1Id == player.Id ? m.Change1!.Value : m.Change2!.Value);
            var rating = profile.Ratings.Should().ContainSingle().Subject;
            rating.Games.Should().Be(matches.Count);
            rating.Rating.Should().Be(Elo.StartRating + change);
        }

        var total = 0;
        foreach (var player in players)
        {
            total += (await restarted.Client.GetProfileAsync(player.Id, ct)).Ratings.Single().Games;
        }

        total.Should().Be(2 * Matches, "every match counted once for each of its two players");
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
            hash = (await host.Client.UploadReplayAsync(match.Id, ReplayGenerator.CreateSlow(spec, depth: 26), ct)).Hash;
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
