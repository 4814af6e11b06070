namespace Ladder.Caching;

/// <summary>Where writers publish their changes, after their transaction commits.</summary>
public interface IChangePublisher
{
    /// <summary>
    /// Invalidates what depends on the change: bumps the version counters of overlapping dependencies and returns.
    /// Every read that starts after this returns sees the change. Never throws for bad input (unknown entity or
    /// field: ignored, counted, logged).
    /// </summary>
    /// <param name="change">The change.</param>
    void Publish(in Change change);

    /// <summary>Publishes several changes (see <see cref="Publish(in Change)"/>).</summary>
    /// <param name="changes">The changes.</param>
    void Publish(ReadOnlySpan<Change> changes);
}
