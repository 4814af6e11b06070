using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using Ladder.PostgreSql.Testing;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (a), Ladder: two nodes (two caches, two backplanes, each on a data source of its own) on one PostgreSQL.</summary>
internal static partial class Latency
{
    private static async Task LadderAsync(PostgresServer postgres, int samples)
    {
        var connectionString = await postgres.CreateDatabaseAsync("latency");
        const string Key = "item:1";
        var database = 0L;
        var loads = 0;
        long Load(string key)
        {
            loads++;
            return Volatile.Read(ref database);
        }

        // Node A twice (the default publish window, and a window of zero) and node B, the observer.
        await using var a = await LadderNode.StartAsync("ladder-a", connectionString, Load);
        await using var a0 = await LadderNode.StartAsync("ladder-a0", connectionString, Load, o => o.PublishWindow = TimeSpan.Zero);
        await using var b = await LadderNode.StartAsync("ladder-b", connectionString, Load);
        var signal = new Signal();
        b.Applied = changes =>
        {
            foreach (var change in changes)
            {
                signal.Observe(change.Key);
            }
        };

        async ValueTask Warm(int i) => await b.Items.GetAsync(Key);
        ValueTask<bool> Invalidated(int i) => ValueTask.FromResult(!b.Items.TryGet(Key, out _));

        var window = await LatencySampler.RunAsync(samples, signal, Key, Warm, i =>
        {
            Interlocked.Increment(ref database);
            a.Publish(Key);
            return ValueTask.CompletedTask;
        }, Invalidated);
        window.Row("Ladder.Caching.PostgreSql", "`Publish(change)` after the write (default window 1 ms)", "B's cache applied it (backplane hook)");
        var windowLoads = loads;

        var zero = await LatencySampler.RunAsync(samples, signal, Key, Warm, i =>
        {
            Interlocked.Increment(ref database);
            a0.Publish(Key);
            return ValueTask.CompletedTask;
        }, Invalidated);
        zero.Row("Ladder.Caching.PostgreSql", "`Publish(change)` after the write, `PublishWindow = 0`", "B's cache applied it (backplane hook)");

        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString);
        var outbox = await LatencySampler.RunAsync(samples, signal, Key, Warm, async i =>
        {
            Interlocked.Increment(ref database);
            Change[] changes = [new("item", Key, "version")];
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await a.Backplane.PublishInTransactionAsync(transaction, changes);
            await transaction.CommitAsync();
            a.Backplane.ApplyLocally(changes);
        }, Invalidated);
        outbox.Row("Ladder.Caching.PostgreSql", "`PublishInTransactionAsync` + commit (outbox, a transaction of its own)", "B's cache applied it (backplane hook)");

        // Read-your-writes across nodes through the API: A's FlushAsync gives the sequence, B's WaitForSequenceAsync
        // returns once B applied it. The sampler's signal is set by this delegate, not by the hook.
        var api = new Signal();
        var waited = await LatencySampler.RunAsync(samples, api, Key, Warm, async i =>
        {
            Interlocked.Increment(ref database);
            a.Publish(Key);
            var sequence = await a.Backplane.FlushAsync();
            await b.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(10));
            api.Observe(Key);
        }, Invalidated);
        waited.Row("Ladder.Caching.PostgreSql", "`Publish(change)`, then A `FlushAsync()` → sequence", "B `WaitForSequenceAsync(sequence)` returned");

        Checks.Add($"Ladder (default window): B loaded {windowLoads} times for {samples + LatencySampler.WarmUp} samples (one load per invalidation expected)");
        Results.Add(("Ladder, Publish, default window", window));
        Results.Add(("Ladder, Publish, window 0", zero));
        Results.Add(("Ladder, outbox", outbox));
        Results.Add(("Ladder, FlushAsync + WaitForSequenceAsync", waited));
    }
}
