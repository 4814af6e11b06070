namespace Ladder.Jobs.Testing;

/// <summary>
/// A caller's own open transaction on a store's location, enlisted in a queue (<see cref="JobStoreFactory.BeginEnlistmentAsync"/>):
/// the caller writes rows of its own beside the jobs it enqueues through <see cref="Jobs"/>, and commits through
/// <see cref="Jobs"/> or rolls back here.
/// </summary>
public abstract class CallerTransaction : IAsyncDisposable
{
    /// <summary>The enlistment: enqueue and commit through it.</summary>
    public abstract JobTransaction Jobs { get; }

    /// <summary>Writes a row of the caller's own (a key in a table of its own) in the transaction.</summary>
    /// <param name="key">The row's key.</param>
    /// <returns>A task that completes once the row is written (not committed).</returns>
    public abstract Task WriteAsync(string key);

    /// <summary>Rolls the transaction back: the caller's rows and the jobs enqueued in it vanish.</summary>
    /// <returns>A task that completes after the rollback.</returns>
    public abstract Task RollbackAsync();

    /// <summary>Closes the enlistment, the transaction (rolled back if not committed) and its connection.</summary>
    /// <returns>A task that completes once closed.</returns>
    public abstract ValueTask DisposeAsync();
}
