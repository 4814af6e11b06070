using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ladder.Caching.Internal;

/// <summary>The Meter and ActivitySource named "Ladder.Caching". Names are listed in docs/caching/metrics.md.</summary>
internal sealed class CachingMetrics : IDisposable
{
    public const string Name = "Ladder.Caching";

    public static readonly ActivitySource Source = new(Name);

    private static readonly KeyValuePair<string, object?> UnknownEntity = new("reason", "unknown_entity");
    private static readonly KeyValuePair<string, object?> UnknownField = new("reason", "unknown_field");

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

    public CachingMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(Name)) ?? new Meter(Name);
        _hits = _meter.CreateCounter<long>("ladder.caching.hits", "{read}", "Reads answered from a current entry.");
        _misses = _meter.CreateCounter<long>("ladder.caching.misses", "{read}", "Reads that had to wait for a load.");
        _staleServed = _meter.CreateCounter<long>("ladder.caching.stale_served", "{read}", "Reads answered with a flagged stale value (reason: swr or fail_safe).");
        _invalidations = _meter.CreateCounter<long>("ladder.caching.invalidations", "{invalidation}", "Version counter bumps per view caused by published changes.");
        _ignoredChanges = _meter.CreateCounter<long>("ladder.caching.changes.ignored", "{change}", "Changes naming an unknown entity or field.");
        _loads = _meter.CreateCounter<long>("ladder.caching.loads", "{load}", "Loads by outcome: stored, discarded (a change raced it), failed, timed_out.");
        _loadDuration = _meter.CreateHistogram<double>("ladder.caching.load.duration", "s", "How long loads took.");
        _coalesced = _meter.CreateCounter<long>("ladder.caching.changes.coalesced", "{change}", "Changes absorbed into an eager refresh already pending.");
    }

    public void Hit(in KeyValuePair<string, object?> view)
    {
        // The hit path's only cost beyond the lookup: skip the instrument's call chain while nobody listens.
        if (_hits.Enabled)
        {
            _hits.Add(1, view);
        }
    }

    public void Miss(in KeyValuePair<string, object?> view) => _misses.Add(1, view);

    public void StaleServed(in KeyValuePair<string, object?> view, bool failSafe) =>
        _staleServed.Add(1, view, new KeyValuePair<string, object?>("reason", failSafe ? "fail_safe" : "swr"));

    public void Invalidated(in KeyValuePair<string, object?> view) => _invalidations.Add(1, view);

    public void IgnoredUnknownEntity() => _ignoredChanges.Add(1, UnknownEntity);

    public void IgnoredUnknownField() => _ignoredChanges.Add(1, UnknownField);

    public void Loaded(in KeyValuePair<string, object?> view, string outcome, TimeSpan duration)
    {
        _loads.Add(1, view, new KeyValuePair<string, object?>("outcome", outcome));
        _loadDuration.Record(duration.TotalSeconds, view);
    }

    public void Coalesced(in KeyValuePair<string, object?> view) => _coalesced.Add(1, view);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
