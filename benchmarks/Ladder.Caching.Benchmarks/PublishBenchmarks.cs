using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Memory;

namespace Ladder.Caching.Benchmarks;

/// <summary>
/// The write path with 1,000 declared views (view i reads entity "e{i}" fields mmr and name; "player" has a
/// per-entry profile view too). Baseline: removing one MemoryCache entry, the plain way to invalidate one thing.
/// </summary>
[MemoryDiagnoser]
public class PublishBenchmarks
{
    private static readonly Change Irrelevant = new("player", "7", "preferences");
    private static readonly Change UnknownEntity = new("audit_log", "7", "text");
    private static readonly Change OneOfThousand = new("e500", null, "mmr");
    private static readonly Change OnePlayer = new("player", "7", "mmr");
    private LadderCache _ladder = null!;
    private MemoryCache _memory = null!;
    private int _i;

    [GlobalSetup]
    public void Setup()
    {
        var options = new LadderCachingOptions { LogUnknownChanges = false }.Entity("player", "name", "mmr", "country", "preferences");
        for (var i = 0; i < 1000; i++)
        {
            options.SingleView<int>($"view{i}", view => view.DependsOn($"e{i}", "mmr", "name").Load(_ => ValueTask.FromResult(1)));
        }

        options.View<int, int>("profile", view => view.DependsOn("player", id => id.ToString(CultureInfo.InvariantCulture), "mmr", "name").Load(id => id));
        _ladder = new LadderCache(options);
        for (var i = 0; i < 1000; i++)
        {
            _ladder.SingleView<int>($"view{i}").Get();
        }

        _ladder.View<int, int>("profile").Get(7);
        _memory = new MemoryCache(new MemoryCacheOptions());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ladder.Dispose();
        _memory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void MemoryCache_Remove()
    {
        // Remove only finds something if it exists: re-add every other call so both paths are measured alike.
        if ((++_i & 1) == 0)
        {
            _memory.Set("view500", _i);
        }

        _memory.Remove("view500");
    }

    [Benchmark]
    public void Ladder_Publish_IrrelevantChange() => _ladder.Publish(Irrelevant);

    [Benchmark]
    public void Ladder_Publish_UnknownEntity() => _ladder.Publish(UnknownEntity);

    [Benchmark]
    public void Ladder_Publish_InvalidatesOneOfThousandViews() => _ladder.Publish(OneOfThousand);

    [Benchmark]
    public void Ladder_Publish_InvalidatesOnePlayersProfile() => _ladder.Publish(OnePlayer);
}
