using System.Collections.Concurrent;
using Ladder.Caching.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests;

/// <summary>The seed's three scenarios, with the write on one node and the read on another.</summary>
public sealed class SeedScenarioTests
{
    private sealed class Node : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, int> _loads = new(StringComparer.Ordinal);

        public Node(string connectionString, Func<string> leaderboard)
        {
            DataSource = NpgsqlDataSource.Create(connectionString);
            Backplane = new PostgresBackplane(DataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
            Cache = new LadderCache(
                new LadderCachingOptions()
                    .Entity("player", "name", "country", "mmr", "preferences")
                    .SingleView<string>("leaderboard", view => view
                        .DependsOn("player", "mmr", "name", "country")
                        .Load(_ =>
                        {
                            _loads.AddOrUpdate("leaderboard", 1, (_, n) => n + 1);
                            return ValueTask.FromResult(leaderboard());
                        })),
                backplane: Backplane);
        }

        public NpgsqlDataSource DataSource { get; }

        public PostgresBackplane Backplane { get; }

        public LadderCache Cache { get; }

        public int Loads => _loads.GetValueOrDefault("leaderboard");

        public async ValueTask DisposeAsync()
        {
            Cache.Dispose();
            await Backplane.DisposeAsync();
            await DataSource.DisposeAsync();
        }
    }

    [TestCase("mmr", true)]
    [TestCase("name", true)]
    [TestCase("preferences", false)]
    [CancelAfter(60_000)]
    public async Task ChangeOnOneNode_InvalidatesTheOtherNodesLeaderboard_OnlyWhenItReadsTheField(string field, bool invalidates, CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var board = "v1";
        await using var writer = new Node(db, () => board);
        await using var reader = new Node(db, () => board);
        await writer.Backplane.StartAsync(ct);
        await reader.Backplane.StartAsync(ct);
        var view = reader.Cache.SingleView<string>("leaderboard");
        (await view.GetAsync(ct)).Should().Be("v1");

        board = "v2"; // the committed write
        writer.Cache.Publish(new Change("player", "42", field));
        var sequence = await writer.Backplane.FlushAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        (await view.GetAsync(ct)).Should().Be(invalidates ? "v2" : "v1");
        reader.Loads.Should().Be(invalidates ? 2 : 1);
    }
}
