namespace Ladder.Jobs.Testing;

/// <summary>
/// Makes the stores a contract fixture runs against: one factory per test, disposed after it (with everything it made
/// that the test's queues did not already dispose).
/// </summary>
/// <remarks>
/// A store from <see cref="CreateAsync"/> is empty and not opened: the fixture gives it to
/// <see cref="JobQueue.OpenAsync"/>, and that queue owns and disposes it. A store that reads its own clock must read
/// the queue's (<see cref="JobStoreContext.Time"/>) or the <paramref name="time"/> given here, so the fixtures' fake
/// clocks drive its leases, retries and retention.
/// </remarks>
public abstract class JobStoreFactory : IAsyncDisposable
{
    /// <summary>The store's name, for messages (SQLite, PostgreSQL).</summary>
    public abstract string Name { get; }

    /// <summary>A new, empty store at a location of its own (a file, a schema), not opened yet.</summary>
    /// <param name="time">The clock the queue over this store will use.</param>
    /// <returns>The store.</returns>
    public abstract Task<JobStore> CreateAsync(TimeProvider time);

    /// <summary>
    /// A second store on the location of <paramref name="store"/> (one this factory made): another host sharing its
    /// jobs. Also called after <paramref name="store"/> was disposed, to reopen its location.
    /// </summary>
    /// <param name="store">A store of this factory.</param>
    /// <param name="time">The clock the queue over the new store will use.</param>
    /// <returns>The store, not opened yet.</returns>
    public abstract Task<JobStore> CreateSiblingAsync(JobStore store, TimeProvider time);

    /// <summary>
    /// Opens a transaction of the caller's own on the location of <paramref name="queue"/>'s store (a connection to
    /// the same file or database) and enlists it in the queue, so jobs enqueued in it commit or vanish with the
    /// caller's writes (<see cref="CallerTransaction.WriteAsync"/>).
    /// </summary>
    /// <param name="queue">A queue over a store of this factory.</param>
    /// <returns>The open transaction; dispose it.</returns>
    public abstract Task<CallerTransaction> BeginEnlistmentAsync(JobQueue queue);

    /// <summary>Whether a caller's row written by <see cref="CallerTransaction.WriteAsync"/> is committed, read on a connection of its own.</summary>
    /// <param name="queue">The queue the transaction was enlisted in.</param>
    /// <param name="key">The row's key.</param>
    /// <returns>Whether the row exists.</returns>
    public abstract Task<bool> CallerRowExistsAsync(JobQueue queue, string key);

    /// <summary>Deletes what the factory made (files, schemas). Default: nothing.</summary>
    /// <returns>A task that completes once everything is gone.</returns>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
