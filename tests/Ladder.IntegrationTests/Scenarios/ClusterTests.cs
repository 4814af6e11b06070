using System.Diagnostics;
using Ladder.IntegrationTests.Support;
using Ladder.PostgreSql.Testing;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Ladder.Sample.Simulate;
using Npgsql;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// Cluster mode: three real hosts (child processes, each with its own worker pool) on one throwaway PostgreSQL, sharing
/// the ladder's tables, the job queue and the cache backplane. One host is killed with SIGKILL mid-run and restarted.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterTests
{
    /// <summary>
    /// How long a rename on one host may take to show on the other hosts' cached leaderboards. Measured here at
    /// load 20-40: well under a second (the backplane's NOTIFY); the bound is generous for the busy machine.
    /// </summary>
    public static readonly TimeSpan FreshnessBound = TimeSpan.FromSeconds(10);

    private PostgresServer _server = null!;
    private TempFolder _folder = null!;

    [OneTimeSetUp]
    public async Task StartPostgres()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _server = await PostgresServer.StartAsync(cancellationToken: timeout.Token);
        _folder = new TempFolder();
    }

    [OneTimeTearDown]
    public async Task StopPostgres()
    {
        await _server.DisposeAsync();
        _folder.Dispose();
    }

    [Test]
    [CancelAfter(420_000)]
    public async Task ThreeHosts_OneKilledMidRun_EveryValidMatchRatedExactlyOnce_AndARenameReachesEveryHost(CancellationToken ct)
    {
        var database = await _server.CreateDatabaseAsync("cluster_season", ct);
        string[] settings =
        [
            "--postgres", database, "--Ladder:WorkerCount=1", "--Ladder:JobConcurrency=2", "--Ladder:JobLease=00:00:04",
            "--Ladder:ParseDeadline=00:00:15", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:00:00.5",
            "--Ladder:HeartbeatInterval=00:00:00.5",
        ];
        var hosts = new SampleHostProcess[3];
        try
        {
            // All three at once: the schemas are created once, under advisory locks, whichever host comes first.
            var starting = Enumerable.Range(0, 3).Select(i => SampleHostProcess.StartAsync(_folder.Path, ct, settings)).ToArray();
            for (var i = 0; i < 3; i++)
            {
                hosts[i] = await starting[i];
            }

            LadderClient On(int i) => hosts[i % 3].Client;

            // Players and matches made on all three hosts; uploads spread over them.
            var players = new List<Player>();
            for (var i = 0; i < 6; i++)
            {
                players.Add(await LadderWorld.PlayerAsync(On(i), "FI", ct));
            }

            var valid = new List<(long MatchId, string Hash, long WinnerId)>();
            var files = new List<byte[]>();
            const int Matches = 12;
            for (var m = 0; m < Matches; m++)
            {
                var (a, b) = (players[m % 6], players[(m + 1 + (m / 6)) % 6]);
                var (match, spec) = await LadderWorld.MatchAsync(On(m + 1), a, Race.Terran, b, Race.Zerg, winnerIndex: m % 2, ct);
                files.Add(ReplayGenerator.CreateSlow(spec, depth: 24));
                var upload = await On(m).UploadReplayAsync(match.Id, files[m], ct);
                valid.Add((match.Id, upload.Hash, m % 2 == 0 ? a.Id : b.Id));
            }

            var (corruptMatch, corruptSpec) = await LadderWorld.MatchAsync(On(0), players[0], Race.Protoss, players[3], Race.Protoss, 0, ct);
            var corrupt = await On(1).UploadReplayAsync(corruptMatch.Id, ReplayGenerator.Corrupt(ReplayGenerator.Create(corruptSpec)), ct);
            var (hangingMatch, hangingSpec) = await LadderWorld.MatchAsync(On(1), players[1], Race.Protoss, players[4], Race.Protoss, 1, ct);
            var hanging = await On(2).UploadReplayAsync(hangingMatch.Id, ReplayGenerator.CreateHanging(hangingSpec), ct);

            // The same file on another host is the same job.
            for (var d = 0; d < 2; d++)
            {
                var again = await On(d + 2).UploadReplayAsync(valid[d].MatchId, files[d], ct);
                again.Hash.Should().Be(valid[d].Hash);
                again.Duplicate.Should().BeTrue();
                again.JobId.Should().Be((await On(d).GetReplayStatusAsync(valid[d].Hash, ct)).JobId);
            }

            // SIGKILL host 1 while the queue is part-way through, then restart it.
            // A deadline far above a parse's time (depth 24 is about 0.4 s here, far more at load 60): a valid replay
            // must not time out on a busy machine; only the hanging one does.
            var before = await Eventually.WaitAsync(async c => new Dictionary<string, long>((await On(0).GetJobCountsAsync(c)).ByState),
                counts => counts.GetValueOrDefault("succeeded") >= 3, TimeSpan.FromSeconds(180), ct, "a few parses to finish");
            TestContext.Out.WriteLine($"killing host 1 with {before.GetValueOrDefault("succeeded")} parses done, "
                + $"{before.GetValueOrDefault("running")} running and {before.GetValueOrDefault("ready")} ready");
            var killed = hosts[1];
            var killedProcessId = killed.ProcessId;
            var workers = killed.ChildProcessIds();
            await killed.KillAsync(ct);
            await killed.DisposeAsync();
            await Eventually.WaitAsync(_ => Task.FromResult(workers.Count(ProcessTree.IsAlive)), static alive => alive == 0,
                TimeSpan.FromSeconds(30), ct, "the killed host's workers to exit");
            hosts[1] = await SampleHostProcess.StartAsync(_folder.Path, ct, settings);

            foreach (var (matchId, hash, winnerId) in valid)
            {
                var final = await LadderWorld.FinalAsync(On((int)matchId), hash, ct, ceilingSeconds: 240);
                final.JobState.Should().Be("succeeded", "job {0}: {1} attempts, reason {2}", final.JobId, final.Attempts, final.Reason);
                var match = await On((int)matchId + 1).GetMatchAsync(matchId, ct);
                match.State.Should().Be("completed");
                match.WinnerId.Should().Be(winnerId);
            }

            var corruptFinal = await LadderWorld.FinalAsync(On(2), corrupt.Hash, ct, ceilingSeconds: 120);
            corruptFinal.JobState.Should().Be("dead");
            corruptFinal.Reason.Should().StartWith("corrupt replay");
            var hangingFinal = await LadderWorld.FinalAsync(On(0), hanging.Hash, ct, ceilingSeconds: 120);
            hangingFinal.JobState.Should().Be("dead");
            hangingFinal.Reason.Should().StartWith("parse timed out after 15 s");

            await CheckRatingsAsync(database, players, Matches, ct);
            await CheckRenameReachesEveryHostAsync(hosts, players[2], ct);

            // The restarted host is one of three live hosts; the killed one is listed as gone until it is forgotten.
            var cluster = await Eventually.WaitAsync(c => ClusterClient.GetClusterAsync(hosts[0].Url, c),
                view => view.Hosts.Count(static h => h.Alive) == 3 && view.Hosts.Any(h => !h.Alive && h.ProcessId == killedProcessId),
                TimeSpan.FromSeconds(30), ct, "three live hosts and the killed one gone");
            cluster.Hosts.Where(static h => h.Alive).Select(static h => h.ProcessId).Should().BeEquivalentTo(hosts.Select(static h => h.ProcessId));
            cluster.Hosts.Should().ContainSingle(static h => h.Self).Which.ProcessId.Should().Be(hosts[0].ProcessId);
            cluster.Queue["succeeded"].Should().Be(Matches);
            cluster.Queue["dead"].Should().Be(2);

            // simulate over the three hosts: a small season spread over them, and the cross-host freshness.
            var simulate = await SampleCommand.RunAsync(
                ["simulate", .. hosts.SelectMany(static h => (string[])["--url", h.Url.ToString()]), "--players", "6", "--matches", "9",
                    "--concurrency", "3", "--duplicates", "0", "--corrupt", "0", "--hanging", "0", "--freshness-probes", "6", "--wait", "120"], ct);
            simulate.ExitCode.Should().Be(0, simulate.ToString());
            simulate.StandardOutput.Should().Contain("hosts               3").And.Contain("cross-host fresh    p50 ")
                .And.Contain("over 12 reads").And.Contain("matches rated       9 ");
            TestContext.Out.WriteLine(simulate.StandardOutput);
        }
        finally
        {
            foreach (var host in hosts)
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }
            }
        }
    }

    /// <summary>
    /// Exactly once in effect, checked in the database itself: ratings are zero-sum, and the board (every rating row)
    /// equals a recomputation from the completed matches: 1500 plus the changes, one game per match and side.
    /// </summary>
    private static async Task CheckRatingsAsync(string database, List<Player> players, int matches, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        var board = new Dictionary<(long, string), (int Rating, int Games, int Wins, int Losses)>();
        await using (var read = new NpgsqlCommand("SELECT player_id, race, rating, games, wins, losses FROM ratings", connection))
        await using (var rows = await read.ExecuteReaderAsync(ct))
        {
            while (await rows.ReadAsync(ct))
            {
                board[(rows.GetInt64(0), rows.GetString(1))] = (rows.GetInt32(2), rows.GetInt32(3), rows.GetInt32(4), rows.GetInt32(5));
            }
        }

        var recomputed = new Dictionary<(long, string), (int Rating, int Games, int Wins, int Losses)>();
        var completed = 0;
        await using (var read = new NpgsqlCommand(
            "SELECT player1_id, race1, player2_id, race2, winner_id, change1, change2 FROM matches WHERE state = 'completed'", connection))
        await using (var rows = await read.ExecuteReaderAsync(ct))
        {
            while (await rows.ReadAsync(ct))
            {
                completed++;
                var winner = rows.GetInt64(4);
                foreach (var (player, race, change) in new[] { (rows.GetInt64(0), rows.GetString(1), rows.GetInt32(5)), (rows.GetInt64(2), rows.GetString(3), rows.GetInt32(6)) })
                {
                    var (rating, games, wins, losses) = recomputed.GetValueOrDefault((player, race), (Elo.StartRating, 0, 0, 0));
                    recomputed[(player, race)] = (rating + change, games + 1, wins + (winner == player ? 1 : 0), losses + (winner == player ? 0 : 1));
                }
            }
        }

        completed.Should().Be(matches, "every valid match is completed, and the corrupt and hanging ones are not");
        board.Should().BeEquivalentTo(recomputed, "the board equals a recomputation from the matches");
        board.Values.Sum(static r => r.Rating - Elo.StartRating).Should().Be(0, "ratings are zero-sum");
        board.Values.Sum(static r => r.Games).Should().Be(2 * matches, "every match is counted once for each side");
        board.Keys.Select(static k => k.Item1).Distinct().Should().BeSubsetOf(players.Select(static p => p.Id));
    }

    /// <summary>
    /// A rename on host A is on host B's and C's leaderboards within <see cref="FreshnessBound"/>: their cached pages
    /// are invalidated through the PostgreSQL backplane.
    /// </summary>
    private static async Task CheckRenameReachesEveryHostAsync(SampleHostProcess[] hosts, Player player, CancellationToken ct)
    {
        // Warm every host's cached first page, so what follows measures an invalidation, not a first load.
        foreach (var host in hosts)
        {
            (await host.Client.GetLeaderboardAsync(ct: ct)).Rows.Should().Contain(r => r.PlayerId == player.Id);
        }

        var renamed = ("renamed-" + Guid.NewGuid().ToString("N"))[..20];
        var clock = Stopwatch.StartNew();
        await hosts[0].Client.UpdatePlayerAsync(player.Id, renamed, null, ct);
        var written = clock.Elapsed;
        var seen = await Task.WhenAll(hosts.Skip(1).Select(async host =>
        {
            await Eventually.WaitAsync(c => host.Client.GetLeaderboardAsync(ct: c),
                board => board.Rows.Any(r => r.PlayerId == player.Id && r.Name == renamed), FreshnessBound, ct, $"the rename on {host.Url}");
            return clock.Elapsed - written;
        }));
        TestContext.Out.WriteLine($"rename seen on the other hosts after {string.Join(" and ", seen.Select(static s => $"{s.TotalMilliseconds:0} ms"))} (load {File.ReadAllText("/proc/loadavg").Trim()})");
        seen.Should().OnlyContain(static s => s <= FreshnessBound);
    }
}
