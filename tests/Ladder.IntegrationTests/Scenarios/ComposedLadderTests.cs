using Ladder.IntegrationTests.Support;
using Ladder.Jobs;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Ladder.Sample.Simulate;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// The composed ladder in one real host process (real HTTP, SQLite file, parser worker processes), through the
/// scenarios of the system it replaces. Each test waits for its own jobs to finish, so the next one starts quiet.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ComposedLadderTests
{
    private TempFolder _folder = null!;
    private SampleHostProcess _host = null!;
    private LadderClient _client = null!;

    [OneTimeSetUp]
    public async Task StartHost()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        _folder = new TempFolder();
        _host = await SampleHostProcess.StartAsync(_folder.Path, ct,
            "--Ladder:ParseDeadline=00:00:03", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:00:00.2",
            "--Ladder:WorkerCount=2", "--Ladder:WorkerMemoryLimitMb=128");
        _client = _host.Client;
    }

    [OneTimeTearDown]
    public async Task StopHost()
    {
        await _host.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Leaderboard_WhenAMatchChangesRatings_IsRecomputedWithTheNewRatings(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "SE", ct), await LadderWorld.PlayerAsync(_client, "SE", ct));
        var before = await _client.GetLeaderboardAsync(country: "SE", ct: ct);
        (await _client.GetLeaderboardAsync(country: "SE", ct: ct)).Load.Should().Be(before.Load, "a second read is served from the cache");

        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Protoss, b, Race.Zerg, winnerIndex: 0, ct);
        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.Create(spec), ct);
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("succeeded", status.Reason);
        var after = await _client.GetLeaderboardAsync(country: "SE", ct: ct);
        after.Load.Should().BeGreaterThan(before.Load, "the rating change invalidated the cached page");
        after.Rows.Should().ContainSingle(r => r.PlayerId == a.Id && r.Race == "protoss").Which.Rating.Should().Be(1520);
        after.Rows.Should().ContainSingle(r => r.PlayerId == b.Id && r.Race == "zerg").Which.Rating.Should().Be(1480);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Leaderboard_WhenAPlayersCountryOrNameChanges_IsRecomputed(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "NO", ct), await LadderWorld.PlayerAsync(_client, "NO", ct));
        var (match, _) = await LadderWorld.MatchAsync(_client, a, Race.Terran, b, Race.Terran, winnerIndex: 1, ct);
        await _client.ReportAsync(match.Id, b.Id, ct);
        var before = await _client.GetLeaderboardAsync(country: "NO", ct: ct);
        before.Rows.Should().HaveCount(2);

        await _client.UpdatePlayerAsync(a.Id, name: null, country: "FI", ct);
        var afterCountry = await _client.GetLeaderboardAsync(country: "NO", ct: ct);
        afterCountry.Load.Should().BeGreaterThan(before.Load);
        afterCountry.Rows.Should().ContainSingle().Which.PlayerId.Should().Be(b.Id);

        await _client.UpdatePlayerAsync(b.Id, name: $"renamed-{b.Id}", country: null, ct);
        var afterName = await _client.GetLeaderboardAsync(country: "NO", ct: ct);
        afterName.Load.Should().BeGreaterThan(afterCountry.Load);
        afterName.Rows.Should().ContainSingle().Which.Name.Should().Be($"renamed-{b.Id}");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Leaderboard_WhenOnlyPreferencesChange_StaysCached(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "PL", ct), await LadderWorld.PlayerAsync(_client, "PL", ct));
        var (match, _) = await LadderWorld.MatchAsync(_client, a, Race.Zerg, b, Race.Protoss, winnerIndex: 0, ct);
        await _client.ReportAsync(match.Id, a.Id, ct);
        var before = await _client.GetLeaderboardAsync(country: "PL", ct: ct);

        await _client.UpdatePreferencesAsync(a.Id, new(["zerg", "terran"], NotifyOnMatch: false, FavoriteMap: "Polypoid"), ct);
        var after = await _client.GetLeaderboardAsync(country: "PL", ct: ct);

        after.Load.Should().Be(before.Load, "the leaderboard does not depend on preferences");
        after.Rows.Should().BeEquivalentTo(before.Rows);
        (await _client.GetProfileAsync(a.Id, ct)).Player.Preferences.LastRaces.Should().Equal("zerg", "terran");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Profile_IsCachedPerPlayer_AndReloadsOnlyForThatPlayersChanges(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "TW", ct), await LadderWorld.PlayerAsync(_client, "TW", ct));
        var profileA = await _client.GetProfileAsync(a.Id, ct);
        (await _client.GetProfileAsync(a.Id, ct)).Load.Should().Be(profileA.Load, "a second read is served from the cache");

        await _client.UpdatePreferencesAsync(b.Id, new(["protoss"], NotifyOnMatch: true, FavoriteMap: null), ct);
        (await _client.GetProfileAsync(a.Id, ct)).Load.Should().Be(profileA.Load, "another player's write is not a's business");

        await _client.UpdatePreferencesAsync(a.Id, new(["terran"], NotifyOnMatch: true, FavoriteMap: null), ct);
        var reloaded = await _client.GetProfileAsync(a.Id, ct);
        reloaded.Load.Should().NotBe(profileA.Load);
        reloaded.Player.Preferences.LastRaces.Should().Equal("terran");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FastParse_CompletesWithoutATimeout_AndRecordsTheResult(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "DE", ct), await LadderWorld.PlayerAsync(_client, "DE", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Terran, b, Race.Protoss, winnerIndex: 1, ct);
        var timeoutsBefore = (await _client.GetWorkerStatsAsync(ct))["timeouts"];

        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.Create(spec), ct);
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("succeeded", status.Reason);
        status.Attempts.Should().Be(1);
        (await _client.GetWorkerStatsAsync(ct))["timeouts"].Should().Be(timeoutsBefore);
        var recorded = await _client.GetMatchAsync(match.Id, ct);
        recorded.State.Should().Be("completed");
        recorded.WinnerId.Should().Be(b.Id);
        recorded.Source.Should().Be("replay");
        recorded.ReplayHash.Should().Be(upload.Hash);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task StuckParse_IsKilledAtTheDeadline_RetriedThenDeadLettered_WhileTheHostKeepsServing(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "CA", ct), await LadderWorld.PlayerAsync(_client, "CA", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Zerg, b, Race.Zerg, winnerIndex: 0, ct);
        var before = await _client.GetWorkerStatsAsync(ct);

        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.CreateHanging(spec), ct);
        await Eventually.WaitAsync(c => _client.GetReplayStatusAsync(upload.Hash, c), static s => s.JobState is "running" or "failed" or "dead",
            TimeSpan.FromSeconds(30), ct, "the parse to start");
        (await _client.GetLeaderboardAsync(ct: ct)).Should().NotBeNull("the host answers while a parse hangs in a worker");
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("dead");
        status.Attempts.Should().Be(2, "the policy allows two attempts");
        status.Reason.Should().Contain("timed out");
        var after = await _client.GetWorkerStatsAsync(ct);
        (after["timeouts"] - before["timeouts"]).Should().Be(2);
        await Eventually.WaitAsync(_client.GetWorkerStatsAsync, static w => w["workers"] >= 2, TimeSpan.FromSeconds(30), ct,
            "the killed workers to be replaced");
        (await _client.GetMatchAsync(match.Id, ct)).State.Should().Be("created", "no result came out of a killed parse");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SameReplayUploadedTwice_YieldsOneJobAndOneResult(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "FR", ct), await LadderWorld.PlayerAsync(_client, "FR", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Protoss, b, Race.Terran, winnerIndex: 0, ct);
        var replay = ReplayGenerator.Create(spec);

        var first = await _client.UploadReplayAsync(match.Id, replay, ct);
        var second = await _client.UploadReplayAsync(match.Id, replay, ct);
        await LadderWorld.FinalAsync(_client, first.Hash, ct);
        var third = await _client.UploadReplayAsync(match.Id, replay, ct);

        first.Duplicate.Should().BeFalse();
        second.Duplicate.Should().BeTrue();
        third.Duplicate.Should().BeTrue();
        second.JobId.Should().Be(first.JobId);
        third.JobId.Should().Be(first.JobId);
        var profile = await _client.GetProfileAsync(a.Id, ct);
        profile.Ratings.Should().ContainSingle().Which.Should().BeEquivalentTo(new RaceRating("protoss", 1520, 1, 1, 0));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task CorruptReplay_IsDeadLetteredWithAReadableReason_AndTheLadderIsUntouched(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "ES", ct), await LadderWorld.PlayerAsync(_client, "ES", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Terran, b, Race.Zerg, winnerIndex: 0, ct);
        var board = await _client.GetLeaderboardAsync(country: "ES", ct: ct);

        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.Corrupt(ReplayGenerator.Create(spec)), ct);
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("dead");
        status.Attempts.Should().Be(1, "a corrupt file fails permanently: retrying cannot fix it");
        status.Reason.Should().StartWith("corrupt replay:");
        (await _client.GetDeadJobsAsync(ct)).Should().Contain(j => j.Id == upload.JobId && j.Reason!.StartsWith("corrupt replay:"));
        (await _client.GetMatchAsync(match.Id, ct)).State.Should().Be("created");
        var after = await _client.GetLeaderboardAsync(country: "ES", ct: ct);
        after.Load.Should().Be(board.Load, "nothing the leaderboard depends on changed");
        after.Rows.Should().BeEmpty();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ReplayUploadedAgain_AfterItsJobWasPurged_FollowsTheNewJob_AndNoOtherUploadTakesThePurgedId(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "AT", ct), await LadderWorld.PlayerAsync(_client, "AT", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Terran, b, Race.Zerg, winnerIndex: 0, ct);
        var corrupt = ReplayGenerator.Corrupt(ReplayGenerator.Create(spec));
        var first = await _client.UploadReplayAsync(match.Id, corrupt, ct);
        (await LadderWorld.FinalAsync(_client, first.Hash, ct)).JobState.Should().Be("dead");

        // The dashboard's purge, through the queue's API on the host's own file (the newest job is among the purged).
        await using (var queue = JobQueue.Open(new LadderJobsOptions { Path = Path.Combine(_folder.Path, "ladder.db"), ShareExistingDatabase = true }))
        {
            (await queue.PurgeAsync(JobState.Dead, TimeSpan.Zero, ct)).Should().BeGreaterThan(0);
        }

        (await _client.GetReplayStatusAsync(first.Hash, ct)).JobState.Should().Be("purged");
        var (other, otherSpec) = await LadderWorld.MatchAsync(_client, b, Race.Zerg, a, Race.Terran, winnerIndex: 1, ct);
        var next = await _client.UploadReplayAsync(other.Id, ReplayGenerator.Create(otherSpec), ct);
        next.JobId.Should().BeGreaterThan(first.JobId, "a purged job's id is not given to the next job");
        (await _client.GetReplayStatusAsync(first.Hash, ct)).JobState.Should().Be("purged", "the purged replay does not show another upload's job");

        var again = await _client.UploadReplayAsync(match.Id, corrupt, ct);
        again.JobId.Should().BeGreaterThan(next.JobId, "its job was purged, so the upload queues a new one");
        var status = await LadderWorld.FinalAsync(_client, first.Hash, ct);
        status.JobId.Should().Be(again.JobId, "the replay follows the job that parses it now");
        status.JobState.Should().Be("dead");
        (await LadderWorld.FinalAsync(_client, next.Hash, ct)).JobState.Should().Be("succeeded");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ReplayOfAnotherMatch_IsDeadLetteredAsAMismatch(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "GB", ct), await LadderWorld.PlayerAsync(_client, "GB", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Terran, b, Race.Zerg, winnerIndex: 0, ct);

        var wrongRaces = spec with { Player2 = spec.Player2 with { Race = Race.Protoss } };
        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.Create(wrongRaces), ct);
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("dead");
        status.Reason.Should().Contain("does not match");
        (await _client.GetMatchAsync(match.Id, ct)).State.Should().Be("created");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DecompressionBomb_IsStoppedInTheWorker_AndDeadLettered(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "NL", ct), await LadderWorld.PlayerAsync(_client, "NL", ct));
        var (match, spec) = await LadderWorld.MatchAsync(_client, a, Race.Protoss, b, Race.Protoss, winnerIndex: 1, ct);

        var upload = await _client.UploadReplayAsync(match.Id, ReplayGenerator.CreateDecompressionBomb(spec), ct);
        var status = await LadderWorld.FinalAsync(_client, upload.Hash, ct);

        status.JobState.Should().Be("dead");
        status.Reason.Should().NotBeNullOrWhiteSpace();
        (await _client.GetHealthAsync(ct)).Should().Be("healthy");
        (await _client.GetMatchAsync(match.Id, ct)).State.Should().Be("created");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ReplayStatus_CountsEveryRun_IncludingASuccessfulOne_AndARetryStartsTheAttemptsAgain(CancellationToken ct)
    {
        var (a, b) = (await LadderWorld.PlayerAsync(_client, "FI", ct), await LadderWorld.PlayerAsync(_client, "FI", ct));
        var (good, goodSpec) = await LadderWorld.MatchAsync(_client, a, Race.Zerg, b, Race.Terran, winnerIndex: 0, ct);
        var (bad, badSpec) = await LadderWorld.MatchAsync(_client, a, Race.Zerg, b, Race.Terran, winnerIndex: 1, ct);

        var succeeded = await LadderWorld.FinalAsync(_client, (await _client.UploadReplayAsync(good.Id, ReplayGenerator.Create(goodSpec), ct)).Hash, ct);
        var corrupt = await _client.UploadReplayAsync(bad.Id, ReplayGenerator.Corrupt(ReplayGenerator.Create(badSpec)), ct);
        var dead = await LadderWorld.FinalAsync(_client, corrupt.Hash, ct);
        await _client.RetryJobAsync(corrupt.JobId, ct);
        var deadAgain = await Eventually.WaitAsync(c => _client.GetReplayStatusAsync(corrupt.Hash, c), static s => s.Runs >= 2 && s.IsFinal,
            TimeSpan.FromSeconds(60), ct, "the retried job to run");

        succeeded.Should().BeEquivalentTo(new { JobState = "succeeded", Attempts = 1, Runs = 1 }, "a successful run is a run");
        dead.Should().BeEquivalentTo(new { JobState = "dead", Attempts = 1, Runs = 1 });
        deadAgain.Should().BeEquivalentTo(new { JobState = "dead", Attempts = 1, Runs = 2 }, "a retry from dead starts its attempts again; runs keep counting");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Api_RefusesBadInput_WithProblemDetails(CancellationToken ct)
    {
        var badName = async () => await _client.CreatePlayerAsync("<script>", "KR", ct);
        var badCountry = async () => await _client.CreatePlayerAsync("Valid Name", "XX", ct);
        var badRace = async () => await _client.GetLeaderboardAsync(race: "elf", ct: ct);
        var missing = async () => await _client.GetMatchAsync(999_999, ct);
        var tooBig = async () => await _client.UploadReplayAsync(1, new byte[(1 << 20) + 1], ct);

        (await badName.Should().ThrowAsync<LadderApiException>()).Which.StatusCode.Should().Be(400);
        (await badCountry.Should().ThrowAsync<LadderApiException>()).Which.Message.Should().Contain("ISO 3166");
        (await badRace.Should().ThrowAsync<LadderApiException>()).Which.StatusCode.Should().Be(400);
        (await missing.Should().ThrowAsync<LadderApiException>()).Which.StatusCode.Should().Be(404);
        (await tooBig.Should().ThrowAsync<LadderApiException>()).Which.StatusCode.Should().Be(413);
    }
}
