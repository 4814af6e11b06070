namespace Ladder.Caching;

/// <summary>Read-your-writes across nodes: wait until this node has applied a given sequence.</summary>
public sealed partial class PostgresBackplane
{
    /// <summary>
    /// Returns once this node has applied change-log sequence <paramref name="sequence"/> (and every one before it):
    /// a read that starts afterwards never returns a value loaded before that row's changes committed.
    /// </summary>
    /// <param name="sequence">A sequence from <see cref="FlushAsync"/> or <see cref="PublishInTransactionAsync"/> (committed) on any node.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Stops waiting with an <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that completes when the sequence is applied.</returns>
    /// <exception cref="BackplaneWaitTimeoutException">The timeout was reached first.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (other than infinite) or over 49 days.</exception>
    /// <exception cref="ObjectDisposedException">The backplane was disposed while waiting.</exception>
    public async Task WaitForSequenceAsync(long sequence, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.Zero || timeout.TotalMilliseconds > uint.MaxValue - 1))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be zero or positive, under 49 days, or infinite.");
        }

        if (IsApplied(sequence, out _))
        {
            return;
        }

        using var deadline = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        while (true)
        {
            Task pulse;
            lock (_gate)
            {
                if (IsAppliedLocked(sequence))
                {
                    return;
                }

                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                pulse = _positionPulse.Task;
            }

            try
            {
                await pulse.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new BackplaneWaitTimeoutException(sequence, Position, timeout);
            }
        }
    }

    private bool IsApplied(long sequence, out long position)
    {
        lock (_gate)
        {
            position = _position;
            return IsAppliedLocked(sequence);
        }
    }

    // While the start window is open, a row at or below the start position may still arrive from a transaction that
    // was open at the start, and it may have committed before a row above the position that was already applied (a
    // notification's payload is applied at once; the window's rows need a read). "Applied S and every row before
    // it" therefore holds only once the window has closed, as behind a hole.
    private bool IsAppliedLocked(long sequence) => _position >= sequence && _window is null;
}
