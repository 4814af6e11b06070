using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ladder.Caching.Internal;

/// <summary>The Meter and ActivitySource named "Ladder.Caching". Names are listed in docs/caching/metrics.md.</summary>
internal sealed class CachingMetrics : IDisposable
{
    public const string Name = "Ladder.Caching";

    public static readonly ActivitySource Source = new(Name);

    private readonly KeyValuePair<string, object?> _cache;
    private readonly KeyValuePair<string, object?> _unknownEntity;
    private readonly KeyValuePair<string, object?> _unknownField;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Counter<long> _staleServed;
    private readonly Counter<long> _invalidations;
    private readonly Counter<long> _ignoredChanges;
    private readonly Counter<long> _loads;
    private readonly Histogram<double> _loadDuration;
    private readonly Counter<long> _coalesced;

    /// <param name="meterFactory">Creates the meter; null: a meter of its own.</param>
    /// <param name="cacheName">The cache's name: the <c>cache</c> tag of every measurement, and a tag of the meter, so
    /// two caches in one process (which share the meter name) can be told apart.</param>
    public CachingMetrics(IMeterFactory? meterFactory, string cacheName)
    {
        CacheName = cacheName;
        _cache = new("cache", cacheName);
        _unknownEntity = new("reason", "unknown_entity");
        _unknownField = new("reason", "unknown_field");
        var options = new MeterOptions(Name) { Tags = [_cache] };
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(options) ?? new Meter(options);
        _hits = _meter.CreateCounter<long>("ladder.caching.hits", "{read}", "Reads answered from a current entry.");
        _misses = _meter.CreateCounter<long>("ladder.caching.misses", "{read}", "Reads that had to wait for a load.");
        _staleServed = _meter.CreateCounter<long>("ladder.caching.stale_served", "{read}", "Reads answered with a flagged stale value (reason: swr or fail_safe).");
        _invalidations = _meter.CreateCounter<long>("ladder.caching.invalidations", "{invalidation}", "Version counter bumps per view caused by published changes.");
        _ignoredChanges = _meter.CreateCounter<long>("ladder.caching.changes.ignored", "{change}", "Changes naming an unknown entity or field.");
        _loads = _meter.CreateCounter<long>("ladder.caching.loads", "{load}", "Loads by outcome: stored, discarded (a change raced it), failed, timed_out.");
        _loadDuration = _meter.CreateHistogram<double>("ladder.caching.load.duration", "s", "How long loads took.");
        _coalesced = _meter.CreateCounter<long>("ladder.caching.changes.coalesced", "{change}", "Changes absorbed into an eager refresh already pending.");
    }

    /// <summary>The cache's name (<see cref="LadderCachingOptions.Name"/>).</summary>
    public string CacheName { get; }

    public void Hit(in KeyValuePair<string, object?> view)
    {
        // The hit path's only cost beyond the lookup: skip the instrument's call chain while nobody listens.
        if (_hits.Enabled)
        {
            _hits.Add(1, view, _cache);
        }
    }

    public void Miss(in KeyValuePair<string, object?> view) => _misses.Add(1, view, _cache);

    public void StaleServed(in KeyValuePair<string, object?> view, bool failSafe) =>
        _staleServed.Add(1, view, new KeyValuePair<string, object?>("reason", failSafe ? "fail_safe" : "swr"), _cache);

    public void Invalidated(in KeyValuePair<string, object?> view) => _invalidations.Add(1, view, _cache);

    public void IgnoredUnknownEntity() => _ignoredChanges.Add(1, _unknownEntity, _cache);

    public void IgnoredUnknownField() => _ignoredChanges.Add(1, _unknownField, _cache);

    public void Loaded(in KeyValuePair<string, object?> view, string outcome, TimeSpan duration)
    {
        _loads.Add(1, view, new KeyValuePair<string, object?>("outcome", outcome), _cache);
        _loadDuration.Record(duration.TotalSeconds, view, _cache);
    }

    public void Coalesced(in KeyValuePair<string, object?> view) => _coalesced.Add(1, view, _cache);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
