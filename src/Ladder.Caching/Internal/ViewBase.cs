using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Caching.Internal;

/// <summary>
/// The version counters of one view and what a publish does to them. Publishing only increments counters
/// (Interlocked, O(1) per matching dependency): it never touches entries, so its cost does not grow with the cache.
/// </summary>
internal abstract class ViewBase : IDisposable
{
    private readonly Lock _refreshGate = new();
    private long _version;
    private volatile ITimer? _refreshTimer;
    private bool _disposed;

    protected ViewBase(ViewDefinition definition, ViewContext context)
    {
        Definition = definition;
        Name = definition.Name;
        Options = definition.Options;
        Context = context;
        Tag = new KeyValuePair<string, object?>("view", definition.Name);
        var perEntry = definition.Dependencies.Count(d => d.EntityKeyOf is not null);
        KeyCounters = new ConcurrentDictionary<string, KeyCounter>[perEntry];
        for (var i = 0; i < perEntry; i++)
        {
            KeyCounters[i] = new ConcurrentDictionary<string, KeyCounter>(StringComparer.Ordinal);
        }
    }

    public ViewDefinition Definition { get; }

    public string Name { get; }

    public ViewOptions Options { get; }

    public ViewContext Context { get; }

    /// <summary>The "view" tag of every measurement, built once so metrics cost no allocation.</summary>
    public KeyValuePair<string, object?> Tag { get; }

    /// <summary>Per per-entry dependency (slot): entity key → counter. A counter exists only once a load used it.</summary>
    protected ConcurrentDictionary<string, KeyCounter>[] KeyCounters { get; }

    /// <summary>How many key counters exist now (tests: they are released with their entries).</summary>
    public int KeyCounterCount => KeyCounters.Sum(map => map.Count);

    protected long Version => Volatile.Read(ref _version);

    /// <summary>Invalidates every entry of the view: one increment.</summary>
    public void BumpView()
    {
        // Interlocked: a full fence; a read that starts after this returns sees the new value (Volatile.Read).
        Interlocked.Increment(ref _version);
        OnInvalidated();
    }

    /// <summary>Invalidates the entries that depend on one entity key under one per-entry dependency.</summary>
    public void BumpKey(int slot, string entityKey)
    {
        // No counter means no load has stamped this key yet. A load that stamps it later creates the counter after
        // this lookup, i.e. after the publish and so after the commit: it reads the new data. Nothing to invalidate.
        // That is a Dekker pattern with ViewCore.TakeStamp (publisher: commit, then look up the counter; first load:
        // create the counter, then read the data), so both sides fence between their write and their read, whatever
        // fences the data layer has. Only keyed publishes pay it: a view-wide bump needs no lookup.
        Interlocked.MemoryBarrier();
        if (KeyCounters[slot].TryGetValue(entityKey, out var counter))
        {
            Interlocked.Increment(ref counter.Value);
            OnInvalidated();
        }
    }

    public virtual void Dispose()
    {
        lock (_refreshGate)
        {
            _disposed = true;
            _refreshTimer?.Dispose();
            _refreshTimer = null;
        }
    }

    /// <summary>Eager views: reload the entries that are no longer current.</summary>
    protected abstract int RefreshInvalidated();

    private void OnInvalidated()
    {
        Context.Metrics.Invalidated(Tag);
        if (Options.Refresh == RefreshMode.Eager)
        {
            ScheduleRefresh();
        }
    }

    // Debounce: the first change opens a window (one timer); every change inside it is coalesced; the timer fires
    // once and is disposed. So a timer exists only while a refresh is pending, and an idle view has none.
    private void ScheduleRefresh()
    {
        if (_refreshTimer is not null)
        {
            Context.Metrics.Coalesced(Tag);
            return;
        }

        lock (_refreshGate)
        {
            if (_refreshTimer is not null || _disposed)
            {
                Context.Metrics.Coalesced(Tag);
                return;
            }

            // The timer must not capture the publisher's execution context (the publisher may be inside a loader).
            var suppress = !ExecutionContext.IsFlowSuppressed();
            var flow = suppress ? ExecutionContext.SuppressFlow() : default;
            try
            {
                _refreshTimer = Context.Time.CreateTimer(static state => ((ViewBase)state!).OnRefreshDue(), this, Options.RefreshDebounce, Timeout.InfiniteTimeSpan);
            }
            finally
            {
                if (suppress)
                {
                    flow.Undo();
                }
            }
        }
    }

    private void OnRefreshDue()
    {
        lock (_refreshGate)
        {
            // Cleared before refreshing: a change published during the refresh opens a new window, so it is not lost.
            _refreshTimer?.Dispose();
            _refreshTimer = null;
            if (_disposed)
            {
                return;
            }
        }

        // A timer callback must never throw: an exception here would take the process down.
        try
        {
            var started = RefreshInvalidated();
            Log.EagerRefresh(Context.Logger, Name, started);
        }
        catch (ObjectDisposedException)
        {
            // The cache was disposed while this refresh was due: nothing left to refresh.
        }
        catch (Exception exception)
        {
            Log.EagerRefreshFailed(Context.Logger, exception, Name);
        }
    }
}
