namespace Ladder.Caching;

/// <summary>
/// Collects the changes of one unit of work and publishes them only when it completes: a rolled-back write
/// invalidates nothing. Call <see cref="Complete"/> right after your transaction commits.
/// </summary>
/// <example>
/// <code>
/// using var changes = new ChangeScope(cache);
/// using var tx = connection.BeginTransaction();
/// // ... UPDATE player SET mmr = ... ;
/// changes.Add(new Change("player", "42", "mmr"));
/// tx.Commit();
/// changes.Complete();   // publishes; without it (an exception above) nothing is published
/// </code>
/// </example>
public sealed class ChangeScope : IDisposable
{
    private readonly IChangePublisher _publisher;
    private readonly List<Change> _changes = [];
    private bool _done;

    /// <summary>Opens a scope.</summary>
    /// <param name="publisher">Where the changes go on <see cref="Complete"/>.</param>
    public ChangeScope(IChangePublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        _publisher = publisher;
    }

    /// <summary>The changes collected so far.</summary>
    public int Count => _changes.Count;

    /// <summary>Records a change; nothing is published yet.</summary>
    /// <param name="change">The change.</param>
    /// <exception cref="InvalidOperationException">The scope was completed or disposed.</exception>
    public void Add(Change change)
    {
        ThrowIfDone();
        _changes.Add(change);
    }

    /// <summary>Publishes every recorded change, once. Call after the transaction committed.</summary>
    /// <exception cref="InvalidOperationException">The scope was completed or disposed.</exception>
    public void Complete()
    {
        ThrowIfDone();
        _done = true;
        _publisher.Publish(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_changes));
        _changes.Clear();
    }

    /// <summary>Ends the scope; if <see cref="Complete"/> was not called, the changes are dropped unpublished.</summary>
    public void Dispose()
    {
        _done = true;
        _changes.Clear();
    }

    private void ThrowIfDone()
    {
        if (_done)
        {
            throw new InvalidOperationException("This change scope is already completed or disposed.");
        }
    }
}
