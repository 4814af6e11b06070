using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Ladder.Caching.Benchmarks;

/// <summary>A read of a cached entry (a hit), string key, POCO value.</summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private const string Key = "leaderboard:KR:0";
    private readonly Poco _value = new() { Id = 1, Name = "alice", Mmr = 1500 };
    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;
    private ServiceProvider _services = null!;
    private HybridCache _hybrid = null!;
    private LadderCache _ladder = null!;
    private CacheView<string, Poco> _view = null!;

    [GlobalSetup]
    public void Setup()
    {
        _memory = new MemoryCache(new MemoryCacheOptions());
        _memory.Set(Key, _value);
        _fusion = new FusionCache(new FusionCacheOptions());
        _fusion.Set(Key, _value);
        _services = new ServiceCollection().AddHybridCache().Services.BuildServiceProvider();
        _hybrid = _services.GetRequiredService<HybridCache>();
        _hybrid.SetAsync(Key, _value).AsTask().GetAwaiter().GetResult();
        _ladder = new LadderCache(new LadderCachingOptions().View<string, Poco>("leaderboard", view => view
            .DependsOn("player", "mmr", "name", "country")
            .DependsOn("match", "mmr_change")
            .Load(_ => _value)));
        _view = _ladder.View<string, Poco>("leaderboard");
        _view.Get(Key);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ladder.Dispose();
        _fusion.Dispose();
        _services.Dispose();
        _memory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Poco? MemoryCache_TryGetValue() => _memory.TryGetValue(Key, out Poco? value) ? value : null;

    [Benchmark]
    public Poco Ladder_Get() => _view.Get(Key);

    [Benchmark]
    public ValueTask<Poco> Ladder_GetAsync() => _view.GetAsync(Key);

    /// <summary>The same call, consumed synchronously (a hit always completes synchronously): the method's own cost.</summary>
    [Benchmark]
    public Poco? Ladder_GetAsync_ConsumedSynchronously()
    {
        var pending = _view.GetAsync(Key);
        return pending.IsCompletedSuccessfully ? pending.Result : null;
    }

    /// <summary>MemoryCache's lookup returned as a ValueTask: what BenchmarkDotNet's ValueTask handling adds by itself.</summary>
    [Benchmark]
    public ValueTask<Poco?> MemoryCache_TryGetValue_AsValueTask() => new(_memory.TryGetValue(Key, out Poco? value) ? value : null);

    [Benchmark]
    public Poco FusionCache_GetOrSet() => _fusion.GetOrSet<Poco>(Key, _ => _value);

    [Benchmark]
    public ValueTask<Poco> HybridCache_GetOrCreateAsync() => _hybrid.GetOrCreateAsync(Key, _value, static (v, _) => ValueTask.FromResult(v));
}
