namespace Ladder.Caching.PostgreSql.Tests.Support;

/// <summary>A cache stand-in: records every change and every "invalidate all" it is given, in order.</summary>
internal sealed class RecordingSubscriber(string nodeId) : IBackplaneSubscriber
{
    private readonly Lock _gate = new();
    private readonly List<Change> _changes = [];
    private readonly List<(Func<RecordingSubscriber, bool> Condition, TaskCompletionSource Done)> _waiters = [];
    private int _reconnects;

    public string NodeId => nodeId;

    public int FullInvalidations => Volatile.Read(ref _reconnects);

    /// <summary>Returns the full invalidations so far and counts again from zero.</summary>
    public int TakeFullInvalidations() => Interlocked.Exchange(ref _reconnects, 0);

    public IReadOnlyList<Change> Changes
    {
        get
        {
            lock (_gate)
            {
                return [.. _changes];
            }
        }
    }

    public IReadOnlyList<string?> Keys => [.. Changes.Select(c => c.Key)];

    public void OnChanges(ReadOnlySpan<Change> changes)
    {
        lock (_gate)
        {
            _changes.AddRange(changes);
        }

        Check();
    }

    public void OnReconnected()
    {
        Interlocked.Increment(ref _reconnects);
        Check();
    }

    // The start's "invalidate all" is counted with the reconnects': the tests count full invalidations.
    public void OnStarted() => OnReconnected();

    /// <summary>Completes once <paramref name="condition"/> holds (checked after every delivery).</summary>
    public Task WaitUntilAsync(Func<RecordingSubscriber, bool> condition, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((condition, done));
        }

        Check();
        return done.Task.WaitAsync(cancellationToken);
    }

    public Task WaitForKeysAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        return WaitUntilAsync(s => wanted.IsSubsetOf(s.Keys.OfType<string>()), cancellationToken);
    }

    private void Check()
    {
        (Func<RecordingSubscriber, bool> Condition, TaskCompletionSource Done)[] waiters;
        lock (_gate)
        {
            waiters = [.. _waiters];
        }

        foreach (var waiter in waiters.Where(w => w.Condition(this)))
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
            }

            waiter.Done.TrySetResult();
        }
    }
}
