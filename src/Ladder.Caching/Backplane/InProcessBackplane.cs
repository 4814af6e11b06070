namespace Ladder.Caching;

/// <summary>
/// The default backplane: delivers changes synchronously to the other caches in the same process (several caches,
/// e.g. one per tenant or per test "node"). With one cache it does nothing and costs nothing.
/// </summary>
public sealed class InProcessBackplane : IInvalidationBackplane
{
    private readonly Lock _gate = new();
    private IBackplaneSubscriber[] _subscribers = [];

    /// <inheritdoc />
    public IDisposable Subscribe(IBackplaneSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return new Subscription(this, subscriber);
    }

    /// <inheritdoc />
    public void Send(IBackplaneSubscriber source, ReadOnlySpan<Change> changes)
    {
        // Copy-on-write array: sending takes no lock and allocates nothing.
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            if (!ReferenceEquals(subscriber, source))
            {
                subscriber.OnChanges(changes);
            }
        }
    }

    /// <summary>Tells every subscriber that messages may have been lost (as a network backplane does on reconnect).</summary>
    public void SignalReconnected()
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.OnReconnected();
        }
    }

    private void Unsubscribe(IBackplaneSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => !ReferenceEquals(s, subscriber))];
        }
    }

    private sealed class Subscription(InProcessBackplane owner, IBackplaneSubscriber subscriber) : IDisposable
    {
        public void Dispose() => owner.Unsubscribe(subscriber);
    }
}
