using Ladder.Jobs.Storage;
using System.Collections.Concurrent;

namespace Ladder.Jobs;

/// <summary>
/// A run this process holds a lease on, from its claim to its finish: claimed and waiting in the dispatch channel, or
/// running. It owns what the run holds: its registration (heartbeated, and never rescued by this process), its
/// handler slot and outstanding permit, and its cancellation source. <see cref="Release"/> frees them all, once each,
/// whatever path finishes the run; nothing in it is specific to a store.
/// </summary>
internal sealed class RunningJob : IDisposable
{
    public const int None = 0;
    public const int Cancelled = 1;
    public const int LeaseLost = 2;
    public const int Interrupted = 3;

    private const int Held = 0;
    private const int Started = 1;
    private const int Finished = 2;

    private readonly CancellationTokenSource _cts;
    private readonly QueueWorker _worker;
    private readonly ConcurrentDictionary<long, RunningJob> _registry;
    private Task? _cancelling;
    private int _reason;
    private int _phase;
    private int _slotReleased;
    private int _released;
    private int _countedRunning;
    private int _leaseLostReported;

    /// <summary>Creates the run and registers it (the claim's commit callback does this, before any later write commits).</summary>
    public RunningJob(ClaimedJob job, QueueWorker worker, ConcurrentDictionary<long, RunningJob> registry, CancellationToken interrupt)
    {
        Job = job;
        _worker = worker;
        _registry = registry;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(interrupt);
        registry.AddOrUpdate(job.Id, static (_, entry) => entry, static (_, previous, entry) =>
        {
            // The job is ours again under a new lease while an older run of it is still held here (its outcome
            // committed, its report not yet cleaned up): that run's lease is gone for good.
            previous.Cancel(LeaseLost);
            return entry;
        }, this);
    }

    public ClaimedJob Job { get; }

    public CancellationToken Token => _cts.Token;

    /// <summary>Why the handler's token was cancelled (the first reason wins).</summary>
    public int Reason => Volatile.Read(ref _reason);

    /// <summary>
    /// Claims the right to start the handler: false once the run was finished (shutdown gave it back while it waited,
    /// e.g. for its start mark). A handler never starts after its job was given back.
    /// </summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _phase, Started, Held) == Held;

    /// <summary>Whether its outcome is being written or was (or shutdown gave it back): a heartbeat that finds its lease gone may have seen that write.</summary>
    public bool IsFinished => Volatile.Read(ref _phase) == Finished;

    /// <summary>Claims the right to report this job's outcome once (a worker, or shutdown giving it back).</summary>
    public bool TryFinish() => Interlocked.Exchange(ref _phase, Finished) != Finished;

    /// <summary>Claims the right to report this run's lost lease (a heartbeat, or an outcome's compare-and-set, finds it gone): true once.</summary>
    public bool TryReportLeaseLost() => Interlocked.Exchange(ref _leaseLostReported, 1) == 0;

    /// <summary>Whether a worker took it from the channel: its slot's release then ends its count as running.</summary>
    public bool CountedRunning
    {
        get => Volatile.Read(ref _countedRunning) == 1;
        set => Volatile.Write(ref _countedRunning, value ? 1 : 0);
    }

    /// <summary>
    /// Frees the handler slot and the outstanding permit, once. A handler that ignored its timeout, or one whose
    /// outcome is being written, frees its slot early and keeps its job held (heartbeated) until <see cref="Release"/>.
    /// </summary>
    public void ReleaseSlot()
    {
        if (Interlocked.Exchange(ref _slotReleased, 1) == 0)
        {
            // Not running any more before the fetcher, woken by the permit, estimates the free slots.
            if (CountedRunning)
            {
                _worker.Left();
            }

            _worker.Outstanding.Release();
        }
    }

    /// <summary>The run is over: unregisters it (no more heartbeats), frees its slot if still held, disposes its token source. Once.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _registry.TryRemove(new KeyValuePair<long, RunningJob>(Job.Id, this));
        Dispose();
        ReleaseSlot();

        // The run's outcome has been written (or given up on): a job held back by the same concurrency key or rate
        // limit may start now, and the fetcher, which claimed short, waits for a wake-up, not for a poll.
        if (Job.Limited)
        {
            _worker.Wake.Writer.TryWrite(true);
        }
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
