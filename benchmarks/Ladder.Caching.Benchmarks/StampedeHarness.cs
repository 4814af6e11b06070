using System.Diagnostics;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Ladder.Caching.Benchmarks;

/// <summary>
/// 64 concurrent readers right after an invalidation; the load takes about 1 ms (Task.Delay). Counts loads and
/// measures the wall time of a round (invalidate, release 64 readers, all done), for each cache.
/// </summary>
public static class StampedeHarness
{
    private const int Readers = 64;
    private const string Key = "leaderboard:KR:0";

    public static async Task RunAsync(int rounds)
    {
        Console.WriteLine($"Stampede: {Readers} readers after an invalidation, load = await Task.Delay(1 ms), {rounds} rounds (after 20 warm-up rounds)");
        Console.WriteLine("| cache | loads per round | mean wall time per round (ms) | p95 (ms) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");

        var loads = 0;
        async ValueTask<Poco> Load(CancellationToken ct)
        {
            Interlocked.Increment(ref loads);
            await Task.Delay(1, ct);
            return new Poco { Id = 1, Name = "alice", Mmr = 1500 };
        }

        using (var memory = new MemoryCache(new MemoryCacheOptions()))
        {
            await Measure("MemoryCache GetOrCreateAsync", rounds, () => { memory.Remove(Key); return default; }, () => memory.GetOrCreateAsync(Key, _ => Load(default).AsTask())!, () => Interlocked.Exchange(ref loads, 0));
        }

        using (var fusion = new FusionCache(new FusionCacheOptions()))
        {
            await Measure("FusionCache 2.9 GetOrSetAsync", rounds, () => fusion.RemoveAsync(Key), () => fusion.GetOrSetAsync<Poco>(Key, (_, ct) => Load(ct).AsTask()).AsTask(), () => Interlocked.Exchange(ref loads, 0));
        }

        await using (var services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider())
        {
            var hybrid = services.GetRequiredService<HybridCache>();
            await Measure("HybridCache GetOrCreateAsync", rounds, () => hybrid.RemoveAsync(Key), () => hybrid.GetOrCreateAsync(Key, ct => Load(ct)).AsTask(), () => Interlocked.Exchange(ref loads, 0));
        }

        using (var ladder = new LadderCache(new LadderCachingOptions().View<string, Poco>("leaderboard", view => view.DependsOn("player", "mmr").Load((_, ct) => Load(ct)))))
        {
            var view = ladder.View<string, Poco>("leaderboard");
            var change = new Change("player", "7", "mmr");
            await Measure("Ladder.Caching GetAsync", rounds, () => { ladder.Publish(change); return default; }, () => view.GetAsync(Key).AsTask(), () => Interlocked.Exchange(ref loads, 0));
        }
    }

    private static async Task Measure(string name, int rounds, Func<ValueTask> invalidate, Func<Task<Poco>> read, Func<int> takeLoads)
    {
        var times = new List<double>();
        var totalLoads = 0;
        for (var round = -20; round < rounds; round++)
        {
            await read();
            await invalidate();
            takeLoads();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var tasks = new Task<Poco>[Readers];
            for (var i = 0; i < Readers; i++)
            {
                tasks[i] = Task.Run(async () =>
                {
                    await gate.Task;
                    return await read();
                });
            }

            var started = Stopwatch.GetTimestamp();
            gate.SetResult();
            await Task.WhenAll(tasks);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var loads = takeLoads();
            if (round >= 0)
            {
                times.Add(elapsed);
                totalLoads += loads;
            }
        }

        times.Sort();
        Console.WriteLine($"| {name} | {(double)totalLoads / rounds:0.##} | {times.Average():0.00} | {times[(int)(times.Count * 0.95)]:0.00} |");
    }
}
