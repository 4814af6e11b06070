using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using ZiggyCreatures.Caching.Fusion;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (a), the peer: FusionCache 2.9 with its StackExchange.Redis backplane, two nodes on one redis-server.</summary>
internal static partial class Latency
{
    private static async Task FusionCacheAsync(RedisServer redis, int samples)
    {
        await using var a = await FusionNode.StartAsync("fusion-a", redis.Endpoint);
        await using var b = await FusionNode.StartAsync("fusion-b", redis.Endpoint);
        var signal = new Signal();
        // A remote Remove evicts B's entry (Memory.Remove); a remote Set marks it expired (Memory.Expire), so B's next
        // read runs the factory. Both fire after B's memory cache was changed.
        b.Cache.Events.Memory.Remove += (_, e) => signal.Observe(e.Key);
        b.Cache.Events.Memory.Expire += (_, e) => signal.Observe(e.Key);
        await WaitForFusionBackplaneAsync(a, b, signal);

        const string Key = "item:1";
        var database = 0L;
        var loads = 0;
        ValueTask Warm(int i) => WarmFusionAsync(b, Key, () => { loads++; return Volatile.Read(ref database); });

        async ValueTask<bool> Gone(int i) => !(await b.Cache.TryGetAsync<long>(Key)).HasValue;

        var removed = await LatencySampler.RunAsync(samples, signal, Key, Warm, async i =>
        {
            Interlocked.Increment(ref database);
            await a.Cache.RemoveAsync(Key, FusionNode.Notify);
        }, Gone);
        removed.Row("FusionCache 2.9 + Redis backplane", "`RemoveAsync(key)` after the write", "B's `Memory.Remove` event");
        var removeLoads = loads;

        loads = 0;
        var set = await LatencySampler.RunAsync(samples, signal, Key, Warm, async i =>
        {
            var value = Interlocked.Increment(ref database);
            await a.Cache.SetAsync(Key, value, FusionNode.Notify);
        }, async i =>
        {
            // Expired, not removed: the next read must run the factory again (and see the new value).
            var before = loads;
            var value = await b.Cache.GetOrSetAsync<long>(Key, (_, _) => { loads++; return Task.FromResult(Volatile.Read(ref database)); });
            return loads == before + 1 && value == Volatile.Read(ref database);
        });
        set.Row("FusionCache 2.9 + Redis backplane", "`SetAsync(key, value)` after the write", "B's `Memory.Expire` event, then a factory re-run");
        Checks.Add($"FusionCache RemoveAsync: B loaded {removeLoads} times for {samples + LatencySampler.WarmUp} samples (one load per invalidation expected)");
        Results.Add(("FusionCache RemoveAsync", removed));
        Results.Add(("FusionCache SetAsync", set));
    }

    private static async ValueTask WarmFusionAsync(FusionNode b, string key, Func<long> load) =>
        await b.Cache.GetOrSetAsync<long>(key, (_, _) => Task.FromResult(load()));

    /// <summary>Both nodes' subscriptions are live once a removal on A reaches B (FusionCache subscribes in the background).</summary>
    private static async Task WaitForFusionBackplaneAsync(FusionNode a, FusionNode b, Signal signal)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            await b.Cache.SetAsync("probe", attempt);
            var observed = signal.Arm("probe");
            await a.Cache.RemoveAsync("probe", FusionNode.Notify);
            if (await Task.WhenAny(observed, Task.Delay(TimeSpan.FromMilliseconds(100))) == observed)
            {
                return;
            }
        }

        throw new InvalidOperationException("FusionCache's backplane never delivered a message from A to B in 20 s.");
    }
}
