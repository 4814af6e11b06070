using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>The fetcher, worker, heartbeat, rescue and upkeep loops. No loop ever throws; each ends on stop.</summary>
public sealed partial class JobProcessor
{
    private static readonly TimeSpan OneMillisecond = TimeSpan.FromMilliseconds(1);

    private async Task FetchLoopAsync(QueueWorker worker)
    {
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await worker.Outstanding.WaitAsync(stop).ConfigureAwait(false);
                var want = await RefillAsync(worker, TakeFreePermits(worker, 1), stop).ConfigureAwait(false);

                // Consume the wake-up before claiming: a commit that lands during the claim leaves a fresh signal.
                worker.Wake.Reader.TryRead(out _);
                ClaimBatch batch;
                try
                {
                    // Held jobs are registered on the writer thread as the claim commits: a cancel committed after
                    // the claim always finds its job registered (and the job is never started).
                    // The jobs that will start at once are recorded as started by the claim itself; those claimed
                    // ahead only when their handlers start, so a crash meanwhile is not counted as their rescue. The
                    // estimate may be off either way: a job recorded early counts as before, one recorded late is
                    // marked by its handler's start.
                    batch = await _queue.ClaimAsync(worker.Name, want, claimed => RegisterAndDispatch(claimed, worker), worker.FreeSlots).ConfigureAwait(false);
                }
                catch
                {
                    worker.Outstanding.Release(want);
                    throw;
                }

                if (batch.Jobs.Count < want)
                {
                    worker.Outstanding.Release(want - batch.Jobs.Count);
                }

                if (batch.Jobs.Count < want)
                {
                    var delay = _options.PollInterval;
                    if (batch.NextRunIn is { } next)
                    {
                        var untilNext = next < OneMillisecond ? OneMillisecond : next;
                        delay = untilNext < delay ? untilNext : delay;
                    }

                    await WaitForWakeAsync(worker, delay, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, e);
                await DelayQuietlyAsync(_options.PollInterval, stop).ConfigureAwait(false);
            }
        }
    }

    // Claims ahead are refilled in batches: while jobs claimed ahead still wait for a handler slot, the fetcher holds the
    // permits freed so far until half of the prefetch is free (or the waiting jobs are gone) instead of claiming on
    // every freed slot. Each claim is a transaction of its own (on PostgreSQL a commit and a WAL flush): claiming on
    // every freed slot made claims of ~35 jobs at prefetch 64, twice the raw loop's claims per job
    // (docs/benchmarks/jobs-postgresql.md). The handlers never wait for it: the jobs still waiting are theirs to run.
    private static async Task<int> RefillAsync(QueueWorker worker, int want, CancellationToken stop)
    {
        try
        {
            while (want < worker.RefillAt && worker.Dispatch.Reader.Count > 0)
            {
                await worker.Outstanding.WaitAsync(stop).ConfigureAwait(false);
                want = TakeFreePermits(worker, want + 1);
            }

            return want;
        }
        catch
        {
            worker.Outstanding.Release(want);
            throw;
        }
    }

    // Adds to the permits held every one free now, up to the most outstanding: how many jobs the claim may take.
    private static int TakeFreePermits(QueueWorker worker, int held)
    {
        while (held < worker.MaxOutstanding && worker.Outstanding.Wait(0, CancellationToken.None))
        {
            held++;
        }

        return held;
    }

    // Runs on the writer thread as the claim commits. Dispatching here, not after the claim's task resumes the
    // fetcher, saves a thread-pool hop between the commit and the handler start (the latency goal): the channel
    // runs its reader's continuation on the pool, so no handler ever runs on the writer thread. The fetcher awaits
    // this claim before it completes the channel on stop, so the write never meets a completed channel.
    // Every run of the batch is registered before the first is dispatched: once a handler starts, the runs held
    // (HeldJobs, a heartbeat's snapshot) include the whole claim, not only the runs registered before it (microseconds).
    private void RegisterAndDispatch(ClaimBatch claimed, QueueWorker worker)
    {
        var runs = new RunningJob[claimed.Jobs.Count];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = new RunningJob(claimed.Jobs[i], worker, _running, _interruptToken);
        }

        foreach (var run in runs)
        {
            worker.Dispatch.Writer.TryWrite(run);
        }
    }

    private async Task WaitForWakeAsync(QueueWorker worker, TimeSpan delay, CancellationToken stop)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var wake = worker.Wake.Reader.WaitToReadAsync(cts.Token).AsTask();
        var timer = Task.Delay(delay, _time, cts.Token);
        await Task.WhenAny(wake, timer).ConfigureAwait(false);
        // Synchronous: the only callbacks are the losing timer's and the channel wait's own. Awaiting CancelAsync
        // would run them on the pool and resume this fetcher from there, one more hop before the claim is queued.
        cts.Cancel();
        stop.ThrowIfCancellationRequested();
    }

    private async Task WorkerLoopAsync(QueueWorker worker)
    {
        var reader = worker.Dispatch.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (true)
            {
                worker.Entered();
                if (!reader.TryRead(out var entry))
                {
                    worker.Left();
                    break;
                }

                entry.CountedRunning = true;
                if (_stopping.IsCancellationRequested)
                {
                    // Claimed but never started: give it back without spending an attempt.
                    if (entry.TryFinish())
                    {
                        await GiveBackQuietlyAsync(entry).ConfigureAwait(false);
                    }

                    continue;
                }

                try
                {
                    await RunAsync(entry).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Log.LoopFailed(_logger, e);
                }
            }
        }
    }

    private async Task HeartbeatLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await HeartbeatOnceAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        // Until every held job is reported, keep the leases alive (a long grace period outlasts a lease).
        while (!_running.IsEmpty && !_interrupt.IsCancellationRequested)
        {
            await DelayQuietlyAsync(_options.HeartbeatInterval, _interrupt.Token).ConfigureAwait(false);
            await HeartbeatOnceAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The runs held now, as a heartbeat sees them.</summary>
    internal List<ClaimedJob> HeldJobsSnapshot() => [.. _running.Values.Select(static e => e.Job)];

    /// <summary>Extends the leases of <paramref name="held"/> (default: a snapshot now) and cancels the runs found lost.</summary>
    internal async Task HeartbeatOnceAsync(IReadOnlyList<ClaimedJob>? held = null)
    {
        try
        {
            held ??= HeldJobsSnapshot();
            if (held.Count == 0)
            {
                return;
            }

            foreach (var (lost, cancelled) in await _queue.HeartbeatAsync(held).ConfigureAwait(false))
            {
                // Only the run the heartbeat was about: the job may have been re-claimed under a new lease meanwhile
                // (a zero snooze or retry delay), and that run is healthy.
                if (_running.TryGetValue(lost.Id, out var entry) && entry.Job.Lease == lost.Lease)
                {
                    entry.Cancel(cancelled ? RunningJob.Cancelled : RunningJob.LeaseLost);

                    // A run whose outcome was being written may have ended its lease itself (committed before this
                    // statement ran, its report not yet released): its own compare-and-set says whether it was lost.
                    // Phases only move forward, so a run not finished now had written nothing when the statement ran.
                    if (!cancelled && !entry.IsFinished)
                    {
                        LeaseLost(entry);
                    }
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (e is not ObjectDisposedException)
            {
                Log.LoopFailed(_logger, e);
            }
        }
    }

    // Issue #10: any host rescues an expired lease within one lease + one rescue interval. Rescues keep their schedule:
    // one every RescueInterval from the first (on start), whatever a rescue takes; one that overruns its interval is
    // followed at once by the next, never by a burst. The loop waited a whole interval after each rescue, and after the
    // retention and checkpoint that ran in the same loop, so every slow statement pushed all later rescues back
    // (RescueScheduleContract). The store's upkeep has a loop of its own for the same reason, and keeps its own
    // schedule while a rescue is slow (UpkeepScheduleContract). Both timers are made at start, so both schedules count
    // from the start, not from whenever a thread runs the loop.
    private Task RescueLoopAsync(PeriodicTimer timer) => PeriodicLoopAsync(timer, runAtStart: true, async stop =>
    {
        Rescuing?.Invoke();
        if (RescueStall is { } stall)
        {
            await stall(stop).ConfigureAwait(false);
        }

        await _queue.RescueExpiredAsync().ConfigureAwait(false);
    });

    private Task UpkeepLoopAsync(PeriodicTimer timer) => PeriodicLoopAsync(timer, runAtStart: false, async stop =>
    {
        if (UpkeepStall is { } stall)
        {
            await stall(stop).ConfigureAwait(false);
        }

        await _queue.ApplyRetentionAsync(stop).ConfigureAwait(false);
        await _queue.CheckpointAsync(stop).ConfigureAwait(false); // The store's upkeep (SQLite: the WAL checkpoint).
        Upkept?.Invoke();
    });

    // Runs step at every tick of timer (and once at start if asked) until the processor stops or the queue is disposed;
    // a step that fails is logged and the schedule goes on.
    private async Task PeriodicLoopAsync(PeriodicTimer timer, bool runAtStart, Func<CancellationToken, Task> step)
    {
        var stop = _stopping.Token;
        using var owned = timer;
        try
        {
            if (runAtStart && !await StepAsync().ConfigureAwait(false))
            {
                return;
            }

            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (!await StepAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        async Task<bool> StepAsync()
        {
            try
            {
                await step(stop).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return false;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, e);
                return true;
            }
        }
    }

    private async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task<bool> GiveBackQuietlyAsync(RunningJob entry)
    {
        var given = false;
        try
        {
            given = await _queue.GiveBackAsync(entry.Job).ConfigureAwait(false);
            if (given)
            {
                Interlocked.Increment(ref _givenBack);
                _queue.NotifyAvailable(entry.Job.Queue);
            }

            return given;
        }
        catch (Exception e)
        {
            // The lease will expire and the job will be rescued: still at-least-once.
            Log.LoopFailed(_logger, e);
            return false;
        }
        finally
        {
            entry.Release();
            if (given)
            {
                JobReported?.Invoke(entry.Job, JobOutcome.GivenBack);
            }
        }
    }

}
