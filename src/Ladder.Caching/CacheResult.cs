namespace Ladder.Caching;

/// <summary>A value read from a view, with how fresh it is.</summary>
/// <typeparam name="TValue">The value type.</typeparam>
public readonly struct CacheResult<TValue>
{
    /// <summary>Creates a result.</summary>
    /// <param name="value">The value.</param>
    /// <param name="isStale">Whether a change it depends on was published after its load started.</param>
    /// <param name="isFailSafe">Whether it is served because the fresh load failed.</param>
    public CacheResult(TValue value, bool isStale, bool isFailSafe)
    {
        Value = value;
        IsStale = isStale || isFailSafe;
        IsFailSafe = isFailSafe;
    }

    /// <summary>The value.</summary>
    public TValue Value { get; }

    /// <summary>
    /// <see langword="true"/> when a change the value depends on was published after its load started: served only
    /// by stale-while-revalidate or fail-safe, never silently.
    /// </summary>
    public bool IsStale { get; }

    /// <summary><see langword="true"/> when the value is the last good one, served because the fresh load failed.</summary>
    public bool IsFailSafe { get; }
}
