namespace Ladder.Caching;

/// <summary>
/// Carries published changes between the caches of several nodes. Messages carry changes (not keys or values),
/// so each node applies them to its own dependency map. Implementations must not block or throw in
/// <see cref="Send"/>; a transport that may have lost messages calls <see cref="IBackplaneSubscriber.OnReconnected"/>,
/// and the cache then invalidates everything.
/// </summary>
public interface IInvalidationBackplane
{
    /// <summary>Starts delivering other nodes' changes to <paramref name="subscriber"/> (a cache calls this once).</summary>
    /// <param name="subscriber">The receiving cache.</param>
    /// <returns>Disposing it stops the delivery.</returns>
    IDisposable Subscribe(IBackplaneSubscriber subscriber);

    /// <summary>Sends changes published on the node of <paramref name="source"/> to every other node.</summary>
    /// <param name="source">The sending cache's subscriber (not delivered back to it).</param>
    /// <param name="changes">The changes, valid only during the call: copy them to queue them.</param>
    void Send(IBackplaneSubscriber source, ReadOnlySpan<Change> changes);
}

/// <summary>A cache's side of the backplane.</summary>
public interface IBackplaneSubscriber
{
    /// <summary>The node's name.</summary>
    string NodeId { get; }

    /// <summary>Applies changes another node published (they are not sent again).</summary>
    /// <param name="changes">The changes.</param>
    void OnChanges(ReadOnlySpan<Change> changes);

    /// <summary>The transport reconnected and may have lost messages: invalidate everything.</summary>
    void OnReconnected();

    /// <summary>
    /// The transport has just started (its first connect, not a reconnect): changes committed before the start are
    /// not delivered, so what was loaded before it may be stale. Invalidate everything; nothing is known to be lost.
    /// </summary>
    void OnStarted();
}
