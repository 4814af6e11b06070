namespace Ladder.Caching.Internal;

/// <summary>
/// The version counter of one entity key under one per-entry dependency (player "7" for the profile view).
/// Non-negative while alive; <see cref="Kill"/> makes it negative for ever, so no stamp taken from it can match again.
/// </summary>
internal sealed class KeyCounter
{
    public long Value;

    /// <summary>
    /// Makes the counter permanently invalid. Called before the counter leaves its map: an entry that still holds it
    /// then fails its check, so a publish that no longer finds the counter cannot leave that entry looking fresh.
    /// </summary>
    public void Kill() => Interlocked.Exchange(ref Value, long.MinValue);
}

/// <summary>
/// The versions a load started from: the view-wide counter and, per per-entry dependency, the key counter and its
/// value. A stamp is taken before the loader runs; a read accepts an entry only if its stamp still matches.
/// </summary>
internal sealed class Stamp(long viewVersion, KeyCounter[]? counters, long[]? values, string[]? entityKeys)
{
    public readonly long ViewVersion = viewVersion;

    public readonly KeyCounter[]? Counters = counters;

    public readonly long[]? Values = values;

    public readonly string[]? EntityKeys = entityKeys;
}
