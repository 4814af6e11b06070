using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;
using Ladder.Workers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
        var gate = new HoldOneLoad();
        await using var app = await LadderHost.BuildAsync(
            ["--urls", "http://127.0.0.1:0", "--data", folder.Path, "--Ladder:DemoData=false", "--Ladder:WorkerCount=1"],
            builder =>
            {
                builder.Services.AddSingleton<LeaderboardLoadObserver>(gate);

                // In-process the entry assembly is the test host: point the pool at the sample's own executable.
                builder.Services.PostConfigure<WorkerPoolOptions>(static o =>
                {
                    o.WorkerPath = SampleHostProcess.HostAssembly;
                    o.Arguments.Clear();
                    o.Arguments.Add(WorkerHost.WorkerSwitch);
                });
            });
        await app.StartAsync(ct);
        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        var client = new LadderClient(http);
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

    private sealed class HoldOneLoad : LeaderboardLoadObserver
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _armed;

        public Task Reached => _reached.Task;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public void Release() => _release.TrySetResult();

        public override async ValueTask AfterReadAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _reached.TrySetResult();
                await _release.Task.WaitAsync(cancellationToken);
            }
        }
    }
}
