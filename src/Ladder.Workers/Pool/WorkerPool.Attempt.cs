using Ladder.Workers.Processes;
using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerPool
{
    private async Task<WorkerProcess> AcquireAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                while (_idle.Reader.TryRead(out var candidate))
                {
                    lock (_lock)
                    {
                        // A worker that died while idle is still in the channel: skip it.
                        if (candidate.State == WorkerState.Idle)
                        {
                            candidate.State = WorkerState.Busy;
                            return candidate;
                        }
                    }
                }

                CancellationToken wake;
                lock (_lock)
                {
                    if (_breakerOpen && _active == 0)
                    {
                        throw Unavailable();
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

                lock (_lock)
                {
                    if (next.State == WorkerState.Idle)
                    {
                        next.State = WorkerState.Busy;
                        return next;
                    }
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>One attempt on one worker: the response frame, or null when the deadline passed first.</summary>
    private async Task<(Frame? Frame, TimeSpan Run)> RunAttemptAsync(
        WorkerProcess worker, string operation, byte[] prefix, ReadOnlyMemory<byte> payload, TimeSpan deadline, int attempt, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var call = worker.StartCall(operation, payload, prefix);
        var response = call.Response.Task;
        try
        {
            // The deadline is a timer (WaitAsync with the TimeProvider), not a polling loop: it fires on time whatever the worker does.
            await response.WaitAsync(deadline, _time, cancellationToken).ConfigureAwait(false);
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

        var run = _time.GetElapsedTime(started);
        WorkersTelemetry.RunDuration.Record(run.TotalSeconds);
        if (response.IsCompletedSuccessfully)
        {
            AfterCall(worker, response.Result);
            return (response.Result, run);
        }

        if (response.IsFaulted)
        {
            var error = response.Exception!.InnerException!;
            OnWorkerFaulted(worker, error);
            if (_disposed != 0)
            {
                throw new WorkerPoolUnavailableException($"The pool was disposed while '{operation}' ran.", error);
            }

            throw error;
        }

        // Deadline or caller cancel: the worker leaves rotation until it proves it stopped (or is killed).
        Quarantine(worker, call);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _timeouts);
        WorkersTelemetry.Timeouts.Add(1);
        Log.CallTimedOut(_logger, operation, deadline.TotalMilliseconds, worker.Pid, attempt);
        return (null, run);
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
            WorkersTelemetry.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
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
        var sent = Task.Run(() => worker.SendCancelAsync(call.Id));
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

        if (call.Response.Task.IsCompletedSuccessfully && !worker.Faulted.IsCompleted)
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
        WorkersTelemetry.Kills.Add(1);
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
