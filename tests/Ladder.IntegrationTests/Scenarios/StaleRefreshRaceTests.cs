using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// The race that got the original leaderboard cache removed: a refresh read the database, a rating change committed,
/// and the refresh then stored its older data as valid. Here the host runs in-process (real HTTP on loopback, real
/// SQLite) so a leaderboard load can be held open at the exact point of the race.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class StaleRefreshRaceTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task LeaderboardLoad_RunningWhileARatingChangeCommits_IsNeverServedAfterTheChange(CancellationToken ct)
    {
        using var folder = new TempFolder();
        var gate = new HoldOnce();
        await using var app = await InProcessHost.StartAsync(
            folder.Path, [], services => services.AddSingleton<LeaderboardLoadObserver>(new Held(gate)), ct);
        var client = app.Client;
        var (a, b) = (await LadderWorld.PlayerAsync(client, "KR", ct), await LadderWorld.PlayerAsync(client, "KR", ct));
        var (first, _) = await LadderWorld.MatchAsync(client, a, Race.Terran, b, Race.Zerg, 0, ct);
        await client.ReportAsync(first.Id, a.Id, ct);
        (await client.GetLeaderboardAsync(ct: ct)).Rows[0].Rating.Should().Be(1520);

        // A reader's load (of a page not cached yet) has read the database (a at 1520) and is held before it can
        // store its result...
        gate.Arm();
        var heldRead = client.GetLeaderboardAsync(country: "KR", ct: ct);
        await gate.Reached.WaitAsync(ct);

        // ...while a rating change commits and is published.
        var (second, _) = await LadderWorld.MatchAsync(client, a, Race.Terran, b, Race.Zerg, 1, ct);
        var changed = await client.ReportAsync(second.Id, b.Id, ct);
        var ratingOfA = 1520 + changed.Change1!.Value;

        // A read that starts after the publish never waits for, nor gets, the load that started before it.
        var during = await client.GetLeaderboardAsync(country: "KR", ct: ct);
        during.Rows.Single(r => r.PlayerId == a.Id).Rating.Should().Be(ratingOfA);

        gate.Release();
        var held = await heldRead;
        held.Rows.Single(r => r.PlayerId == a.Id).Rating.Should().Be(1520, "that read started before the change");

        // And the held load's older result was not stored as the current value.
        var after = await client.GetLeaderboardAsync(country: "KR", ct: ct);
        after.Rows.Single(r => r.PlayerId == a.Id).Rating.Should().Be(ratingOfA);
        after.Rows.Single(r => r.PlayerId == b.Id).Rating.Should().Be(1480 - changed.Change1!.Value);
        after.Load.Should().NotBe(held.Load);
        await app.StopAsync(ct);
    }

    private sealed class Held(HoldOnce gate) : LeaderboardLoadObserver
    {
        public override ValueTask AfterReadAsync(CancellationToken cancellationToken) => gate.HoldAsync(cancellationToken);
    }
}
