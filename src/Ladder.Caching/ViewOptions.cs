namespace Ladder.Caching;

/// <summary>How a view refreshes after a change it depends on.</summary>
public enum RefreshMode
{
    /// <summary>Default: the next read after a change loads the new value (and concurrent readers share that load).</summary>
    Lazy = 0,

    /// <summary>
    /// After a change, wait <see cref="ViewOptions.RefreshDebounce"/> (a burst of changes in that window costs one
    /// recompute), then reload the cached entries the changes invalidated, so readers rarely wait. Reads in between
    /// still never see the old value: they load it themselves (or get it flagged stale under stale-while-revalidate).
    /// </summary>
    Eager = 1,
}

/// <summary>Per-view behaviour. Every property has a documented default; invalid values are listed at start-up.</summary>
public sealed class ViewOptions
{
    /// <summary>Lazy (default) or eager refresh.</summary>
    public RefreshMode Refresh { get; set; } = RefreshMode.Lazy;

    /// <summary>
    /// Eager refresh only: how long to gather changes before recomputing (a fixed window opened by the first change).
    /// Default 100 ms. Must be positive and under 49 days (a timer cannot be due later).
    /// </summary>
    public TimeSpan RefreshDebounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// When set, a read of an entry that a change has invalidated returns the old value at once, flagged
    /// <see cref="CacheResult{TValue}.IsStale"/>, and starts one background reload — provided the old value was loaded at
    /// most this long ago (its age bounds its staleness). Default <see langword="null"/>: never serve stale values.
    /// </summary>
    public TimeSpan? StaleWhileRevalidate { get; set; }

    /// <summary>
    /// The longest a load may run; then its waiting readers get <see cref="CacheLoadTimeoutException"/> (or the fail-safe
    /// value) and the loader's token is cancelled. Default <see langword="null"/>: no limit.
    /// </summary>
    public TimeSpan? LoadTimeout { get; set; }

    /// <summary>
    /// When a load throws or times out, serve the last good value flagged <see cref="CacheResult{TValue}.IsFailSafe"/>
    /// instead of the error, if there is one. Default <see langword="false"/>.
    /// </summary>
    public bool FailSafe { get; set; }

    /// <summary>
    /// The most entries the view keeps (each entry has size 1 unless <see cref="ViewBuilder{TKey, TValue}.SizeOf"/> says
    /// otherwise); the MemoryCache behind the view compacts beyond it. Default <see langword="null"/>: unbounded.
    /// </summary>
    public long? SizeLimit { get; set; }

    /// <summary>
    /// Drop an entry this long after it was loaded even with no change (a safety net for writes that bypass
    /// publishing). Default <see langword="null"/>: entries live until a change or eviction. Positive and at most
    /// 100 years when set (the MemoryCache behind the view adds it to the clock's now).
    /// </summary>
    public TimeSpan? MaxAge { get; set; }
}
