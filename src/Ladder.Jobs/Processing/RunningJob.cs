namespace Ladder.Jobs;

/// <summary>A job this process holds a lease on: claimed and waiting in the dispatch channel, or running.</summary>
internal sealed class RunningJob(ClaimedJob job, CancellationToken interrupt) : IDisposable
{
    public const int None = 0;
    public const int Cancelled = 1;
    public const int LeaseLost = 2;
    public const int Interrupted = 3;

    private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(interrupt);
    private Task? _cancelling;
    private int _reason;
    private int _finished;
    private int _slotReleased;
    private int _countedRunning;

    public ClaimedJob Job { get; } = job;

    public CancellationToken Token => _cts.Token;

    /// <summary>Why the handler's token was cancelled (the first reason wins).</summary>
    public int Reason => Volatile.Read(ref _reason);

    /// <summary>Claims the right to report this job's outcome once (a worker, or shutdown giving it back).</summary>
    public bool TryFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    /// <summary>
    /// Claims the right to free this job's handler slot once. A handler that ignored its timeout frees its slot early
    /// and keeps its job held; shutdown may then give that job back, and must not free the slot a second time.
    /// </summary>
    public bool TryReleaseSlot() => Interlocked.Exchange(ref _slotReleased, 1) == 0;

    /// <summary>Whether a worker took it from the channel: its slot's release then ends its count as running.</summary>
    public bool CountedRunning
    {
        get => Volatile.Read(ref _countedRunning) == 1;
        set => Volatile.Write(ref _countedRunning, value ? 1 : 0);
    }

    public void Cancel(int reason)
    {
        Interlocked.CompareExchange(ref _reason, reason, None);
        try
        {
            // Never run the handler's cancellation callbacks here: Cancel is called on the writer thread (a job
            // cancelled), the heartbeat loop and StopAsync, and handler code must not block those. The token turns
            // cancelled at once; its callbacks run on the thread pool, unawaited.
            lock (_cts)
            {
                var cancelling = _cts.CancelAsync();
                _ = cancelling.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                _cancelling ??= cancelling;
            }
        }
        catch (ObjectDisposedException)
        {
            // The job finished meanwhile: nothing to cancel.
        }
    }

    public void Dispose()
    {
        lock (_cts)
        {
            // Disposing drops the callbacks a CancelAsync has not run yet: the handler would never see its token
            // cancelled. Dispose only once they ran.
            if (_cancelling is { IsCompleted: false } cancelling)
            {
                _ = cancelling.ContinueWith(static (_, cts) => ((CancellationTokenSource)cts!).Dispose(), _cts, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            else
            {
                _cts.Dispose();
            }
        }
    }
}
