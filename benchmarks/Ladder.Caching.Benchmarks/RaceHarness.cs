using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Ladder.Caching.Benchmarks;

/// <summary>
/// The stale-refresh race, against each cache: a load reads the database (value 1) and is held; the value becomes 2
/// and the cache is told (Remove / RemoveByTag / Publish); the load finishes; then a new read. Prints what that
/// read returns: 1 means the old value came back after the invalidation returned.
/// </summary>
public static class RaceHarness
{
    private const string Key = "leaderboard";

    public static async Task RunAsync()
    {
        Console.WriteLine("| cache | invalidation | read after invalidation + load end returns | stale? |");
        Console.WriteLine("| --- | --- | ---: | --- |");

        using (var memory = new MemoryCache(new MemoryCacheOptions()))
        {
            await Race("MemoryCache GetOrCreateAsync", "Remove(key)", load => memory.GetOrCreateAsync(Key, _ => load(default).AsTask()), () => { memory.Remove(Key); return default; });
        }

        using (var fusion = new FusionCache(new FusionCacheOptions()))
        {
            await Race("FusionCache 2.9 GetOrSetAsync", "Remove(key)", load => fusion.GetOrSetAsync<int>(Key, (_, ct) => load(ct).AsTask()).AsTask(), () => fusion.RemoveAsync(Key));
        }

        using (var fusion = new FusionCache(new FusionCacheOptions()))
        {
            await Race("FusionCache 2.9 GetOrSetAsync (tags)", "RemoveByTag(tag)", load => fusion.GetOrSetAsync<int>(Key, (_, ct) => load(ct).AsTask(), tags: ["player"]).AsTask(), () => fusion.RemoveByTagAsync("player"));
        }

        await using (var services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider())
        {
            var hybrid = services.GetRequiredService<HybridCache>();
            await Race("HybridCache GetOrCreateAsync", "RemoveAsync(key)", load => hybrid.GetOrCreateAsync(Key, ct => load(ct)).AsTask(), () => hybrid.RemoveAsync(Key));
        }

        await using (var services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider())
        {
            var hybrid = services.GetRequiredService<HybridCache>();
            await Race("HybridCache GetOrCreateAsync (tags)", "RemoveByTagAsync(tag)", load => hybrid.GetOrCreateAsync(Key, ct => load(ct), tags: ["player"]).AsTask(), () => hybrid.RemoveByTagAsync("player"));
        }

        using (var ladder = new LadderCache(new LadderCachingOptions().SingleView<int>(Key, view => view.DependsOn("player", "mmr").Load(ct => Current!(ct)))))
        {
            var view = ladder.SingleView<int>(Key);
            await Race("Ladder.Caching GetAsync", "Publish(player.mmr)", load => { Current = load; return view.GetAsync().AsTask(); }, () => { ladder.Publish(new Change("player", "7", "mmr")); return default; });
        }
    }

    private static Func<CancellationToken, ValueTask<int>>? Current { get; set; }

    private static async Task Race(string name, string invalidation, Func<Func<CancellationToken, ValueTask<int>>, Task<int>> read, Func<ValueTask> invalidate)
    {
        var database = 1;
        TaskCompletionSource? hold = null;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<int> Load(CancellationToken ct)
        {
            var value = database;               // the load reads the database...
            if (hold is { } gate)
            {
                started.TrySetResult();
                await gate.Task;                // ...and is still running when the newer write is published
            }

            return value;
        }

        await read(Load);                       // warm: value 1 cached
        await invalidate();                     // the next read loads
        hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var early = read(Load);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        database = 2;                           // commit...
        await invalidate();                     // ...then invalidate
        hold.SetResult();
        await early;
        hold = null;
        var after = await read(Load);
        Console.WriteLine($"| {name} | {invalidation} | {after} | {(after == 1 ? "**yes**" : "no")} |");
    }
}
