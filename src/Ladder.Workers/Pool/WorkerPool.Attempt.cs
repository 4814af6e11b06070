using Ladder.Workers.Processes;
using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerPool
{
    private async Task<WorkerProcess> AcquireAsync(string operation, CancellationToken cancellationToken)
    {
        AddWaiting(1);
        try
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                while (_idle.Reader.TryRead(out var candidate))
                {
                    if (TryTake(candidate))
                    {
                        return candidate;
                    }
                }

                CancellationToken wake;
                lock (_lock)
                {
                    if (_breakerOpen && _active == 0)
                    {
                        throw Unavailable(operation);
                    }

                    wake = _wake.Token;
                }

                // FIFO hand-over: the channel gives each freed worker to exactly one waiting call, in arrival order.
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, wake);
                WorkerProcess next;
                try
                {
                    next = await _idle.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The caller's cancel wins; otherwise the breaker opened or the pool is disposed: look again.
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }

                if (TryTake(next))
                {
                    return next;
                }
            }
        }
        finally
        {
            AddWaiting(-1);
        }
    }

    /// <summary>
    /// The queued count is part of the stats: a change of it wakes a stats watcher (<see cref="WaitUntilAsync"/>) like any
    /// other state change. The count itself stays off the pool's lock; only a pool that has been watched takes it to
    /// signal. Both sides fence (the interlocked add here, the interlocked flag there), so either the watcher reads the
    /// new count or this sees the flag and signals after the watcher took its signal.
    /// </summary>
    private void AddWaiting(int delta)
    {
        Interlocked.Add(ref _waiting, delta);
        if (Volatile.Read(ref _statsWatched) != 0)
        {
            lock (_lock)
            {
                SignalReadyLocked();
            }
        }
    }

    /// <summary>Takes an idle worker for a call; a worker known dead is never taken (it leaves rotation here if it is still in it).</summary>
    private bool TryTake(WorkerProcess candidate)
    {
        lock (_lock)
        {
            // A worker that died while idle may still be in the channel: skip it.
            if (candidate.State != WorkerState.Idle)
            {
                return false;
            }

            if (!candidate.IsDead)
            {
                candidate.State = WorkerState.Busy;
                return true;
            }

            RemoveFromRotationLocked(candidate, WorkerState.Dead);
            SignalReadyLocked();
        }

        EnsureCapacity();
        return false;
    }

    /// <summary>The worker is known dead: it leaves rotation now (the spare steps in), before its exit details are in.</summary>
    private void OnWorkerDied(WorkerProcess worker)
    {
        lock (_lock)
        {
            switch (worker.State)
            {
                case WorkerState.Idle or WorkerState.Busy:
                    RemoveFromRotationLocked(worker, WorkerState.Dead);
                    break;
                case WorkerState.Spare:
                    _spare = null;
                    worker.State = WorkerState.Dead;
                    break;
                default:
                    // Starting, quarantined, retired: the start, the settle or the retirement accounts for it.
                    return;
            }

            SignalReadyLocked();
        }

        EnsureCapacity();
    }

    /// <summary>
    /// One attempt on one worker: the response frame; or null when the deadline passed first; or, when the call never
    /// reached the worker (it was found dead when the call was written) and <paramref name="mayRedispatch"/>, undelivered.
    /// Whatever happens, the worker is accounted for: returned by the caller (<see cref="AfterCall"/>), quarantined,
    /// or out of rotation with its fault.
    /// </summary>
    private async Task<Attempt> RunAttemptAsync(
        WorkerProcess worker, string operation, byte[] prefix, ReadOnlyMemory<byte> payload, TimeSpan deadline, int attempt, bool mayRedispatch,
        CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        CallState? call = null;
        Exception? unexpected = null;
        try
        {
            call = worker.StartCall(operation, payload, prefix);
            if (call.Undelivered && mayRedispatch)
            {
                OnWorkerDied(worker);
                return Attempt.NotDelivered;
            }

            // The deadline is a timer (WaitAsync with the TimeProvider), not a polling loop: it fires on time whatever the worker does.
            await call.Response.Task.WaitAsync(deadline, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The deadline passed: handled below.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller cancelled: handled below.
        }
        catch (WorkerException)
        {
            // The worker died or broke the protocol: handled below.
        }
#pragma warning disable CA1031 // Not swallowed: rethrown below once the worker is accounted for.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Not the worker's doing (a timer that could not be created, a bug): the worker must not stay busy for ever.
            unexpected = ex;
        }

        // RunDuration is recorded by the caller once the worker is handed over (a throwing listener must not strand it).
        var run = _time.GetElapsedTime(started);
        if (unexpected is not null)
        {
            AbandonAttempt(worker, call);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(unexpected);
        }

        var response = call!.Response.Task;
        if (response.IsCompletedSuccessfully)
        {
            return new Attempt(response.Result, run, false);
        }

        if (response.IsFaulted)
        {
            var error = response.Exception!.InnerException!;
            OnWorkerFaulted(worker, error);
            WorkersTelemetry.RunDuration.Record(run.TotalSeconds);
            if (call.Undelivered && mayRedispatch)
            {
                // The worker was gone before it could read the call (its write failed): no handler ran; try another.
                return Attempt.NotDelivered;
            }

            if (_disposed != 0)
            {
                throw new WorkerPoolUnavailableException(
                    $"The pool was disposed while '{operation}' ran in worker {worker.Pid}: the call did not finish within ShutdownGrace ({_options.ShutdownGrace.TotalMilliseconds:0} ms) and its worker was stopped.")
                {
                    Operation = operation,
                    ProcessId = worker.Pid,
                };
            }

            throw error;
        }

        // Deadline or caller cancel: the worker leaves rotation until it proves it stopped (or is killed).
        Quarantine(worker, call);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _timeouts);
        WorkersTelemetry.Timeouts.Add(1);
        Log.CallTimedOut(_logger, operation, deadline.TotalMilliseconds, worker.Pid, attempt);
        return new Attempt(null, run, false);
    }

    /// <summary>A worker taken for a call that was never given it goes back to the pool (or, dead or the pool disposed, out of it).</summary>
    private void GiveBack(WorkerProcess worker)
    {
        bool dead;
        lock (_lock)
        {
            if (worker.State != WorkerState.Busy)
            {
                return;
            }

            dead = worker.IsDead;
            if (!dead && _disposed == 0)
            {
                worker.State = WorkerState.Idle;
                _idle.Writer.TryWrite(worker);
                return;
            }

            RemoveFromRotationLocked(worker, dead ? WorkerState.Dead : WorkerState.Retired);
            SignalReadyLocked();
        }

        if (!dead)
        {
            Track(RetireAsync(worker));
        }

        EnsureCapacity();
    }

    /// <summary>An attempt failed for a reason that is not the worker's: a call that went out is settled like a timed-out one; otherwise the worker is retired.</summary>
    private void AbandonAttempt(WorkerProcess worker, CallState? call)
    {
        if (call is not null)
        {
            Quarantine(worker, call);
            return;
        }

        lock (_lock)
        {
            if (worker.State != WorkerState.Busy)
            {
                return;
            }

            RemoveFromRotationLocked(worker, WorkerState.Retired);
        }

        Track(RetireAsync(worker));
        EnsureCapacity();
    }

    /// <summary>What one attempt ended with.</summary>
    private readonly record struct Attempt(Frame? Frame, TimeSpan Run, bool Undelivered)
    {
        public static Attempt NotDelivered => new(null, TimeSpan.Zero, true);
    }

    private void AfterCall(WorkerProcess worker, Frame frame)
    {
        var (workingSet, _) = Messages.ReadMemoryPrefixed(frame.Data);
        worker.CallsServed++;
        worker.WorkingSet = workingSet;
        var reason = worker.CallsServed >= worker.RecycleLimit ? "calls"
            : workingSet > (_options.RecycleAboveWorkingSetBytes ?? long.MaxValue) ? "memory"
            : null;
        lock (_lock)
        {
            if (worker.State != WorkerState.Busy)
            {
                return;
            }

            if (reason is null && _disposed == 0)
            {
                worker.State = WorkerState.Idle;
                _idle.Writer.TryWrite(worker);
                return;
            }

            RemoveFromRotationLocked(worker, WorkerState.Retired);
        }

        if (reason is not null)
        {
            Interlocked.Increment(ref _recycles);
            WorkersTelemetry.AddSafely(WorkersTelemetry.Recycles, 1, new KeyValuePair<string, object?>("reason", reason));
            Log.WorkerRecycled(_logger, worker.Pid, worker.CallsServed, workingSet, reason);
        }

        Track(RetireAsync(worker));
        EnsureCapacity();
    }

    private void Quarantine(WorkerProcess worker, CallState call)
    {
        lock (_lock)
        {
            if (worker.State != WorkerState.Busy)
            {
                return;
            }

            RemoveFromRotationLocked(worker, WorkerState.Quarantined);
            _quarantined++;
        }

        // The replacement starts now, not after the grace: capacity comes back as fast as a spawn (or the spare) allows.
        EnsureCapacity();
        Track(Task.Run(() => SettleAsync(worker, call)));
    }

    /// <summary>Soft cancel, grace, then kill the process group; a worker that stopped in time rejoins the pool.</summary>
    private async Task SettleAsync(WorkerProcess worker, CallState call)
    {
        // Off this thread and never awaited alone: a worker that stopped reading stdin (frozen, its pipe full) would
        // hold the write, and the kill below, which breaks the pipe and so ends the write, must not wait for it.
        var sent = Task.Run(() => worker.SendCancelAsync(call));
        using var graceCts = new CancellationTokenSource();
        var grace = Task.Delay(_options.CancelGrace, _time, graceCts.Token);

        // The grace is the worker's time to react to the cancel, so it runs from the write (on a busy machine the
        // write itself may come late); a write still pending after one grace (a frozen worker) holds nothing.
        await Task.WhenAny(sent, grace, call.Response.Task).ConfigureAwait(false);
        if (!grace.IsCompleted && !call.Response.Task.IsCompleted)
        {
            grace = Task.Delay(_options.CancelGrace, _time, graceCts.Token);
        }

        await Task.WhenAny(call.Response.Task, grace).ConfigureAwait(false);
        await graceCts.CancelAsync().ConfigureAwait(false);

        if (call.Response.Task.IsCompletedSuccessfully && !worker.IsDead)
        {
            Log.WorkerCancelledCleanly(_logger, worker.Pid);
            bool keep;
            lock (_lock)
            {
                _quarantined--;
                keep = PlaceLocked(worker);
            }

            if (!keep)
            {
                await RetireAsync(worker).ConfigureAwait(false);
            }

            return;
        }

        Interlocked.Increment(ref _kills);
        WorkersTelemetry.AddSafely(WorkersTelemetry.Kills, 1);
        Log.WorkerKilled(_logger, worker.Pid);
        if (!await worker.KillAsync().ConfigureAwait(false))
        {
            Log.WorkerDidNotExit(_logger, worker.Pid);
        }

        lock (_lock)
        {
            _quarantined--;
            worker.State = WorkerState.Retired;
            SignalReadyLocked();
        }

        EnsureCapacity();
    }
}
