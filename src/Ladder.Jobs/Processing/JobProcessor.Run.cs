using System.Diagnostics;
using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs;

/// <summary>Running one attempt and reporting its outcome.</summary>
public sealed partial class JobProcessor
{
    /// <summary>
    /// Raised after an attempt's outcome is committed (or found lost): the run as claimed, and its outcome. Not in the
    /// order of the commits: a job retried at once may be claimed, run and reported again before this is raised for
    /// the attempt before (tests and diagnostics order a job's reports by <see cref="ClaimedJob.Attempt"/> and
    /// <see cref="ClaimedJob.StartedAt"/>).
    /// </summary>
    internal event Action<ClaimedJob, JobOutcome>? JobReported;

    /// <summary>Raised as a job rescued before starts waiting for its start mark to commit: job id (tests and diagnostics).</summary>
    internal event Action<long>? AwaitingStartMark;

    /// <summary>Raised as the rescue loop begins a rescue (tests and diagnostics).</summary>
    internal event Action? Rescuing;

    /// <summary>Awaited as each rescue begins, after <see cref="Rescuing"/>, with the stop token (tests: a slow rescue).</summary>
    internal Func<CancellationToken, Task>? RescueStall { get; set; }

    /// <summary>Awaited as each pass of retention and store upkeep begins, with the stop token (tests: a slow retention).</summary>
    internal Func<CancellationToken, Task>? UpkeepStall { get; set; }

    /// <summary>Raised when a pass of retention and store upkeep has finished (tests and diagnostics).</summary>
    internal event Action? Upkept;

    /// <summary>Completes when every worker loop has ended (after a stop; tests).</summary>
    internal Task WorkerLoops => Task.WhenAll(_workers.Values.SelectMany(static w => w.Workers));

    // The one owner of a run from its dispatch to its finish: whatever throws (telemetry, a timer, a disposed
    // service provider, our own code), the run is finished once and its registration, slot and permit are freed, by
    // its report, a give-back, the watcher of a handler that ignored its timeout, or the finally below.
    private async Task RunAsync(RunningJob entry)
    {
        var handedOver = false;
        try
        {
            handedOver = await RunOnceAsync(entry).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.LoopFailed(_logger, e);
        }
        finally
        {
            if (!handedOver && entry.TryFinish())
            {
                // Nothing reported it: its lease is no longer heartbeated, so it expires and the job is rescued.
                entry.Release();
                JobReported?.Invoke(entry.Job, JobOutcome.LeaseLost);
            }
        }
    }

    // Returns true only when a handler that ignored its timeout was handed to its watcher, which finishes the run.
    private async Task<bool> RunOnceAsync(RunningJob entry)
    {
        var job = entry.Job;
        if (!job.HandlerStarted && !await MarkStartedAsync(job).ConfigureAwait(false))
        {
            // A job rescued before whose start could not be recorded is not run: its lease expires, it is released
            // uncounted, and its next run waits for its mark again. A poison job never runs unrecorded twice.
            return false;
        }

        if (!entry.TryStart())
        {
            // Shutdown gave it back while it waited (for its start mark, longer than the grace): never start it.
            return false;
        }

        if (entry.Reason != RunningJob.None || (!job.HandlerStarted && job.WasRescued && _stopping.IsCancellationRequested))
        {
            // Cancelled or rescued elsewhere while it waited in the channel, or stopped while its mark committed
            // (the worker loop checked before the wait): never started, so never charged an attempt.
            if (entry.TryFinish())
            {
                if (entry.Reason is RunningJob.Cancelled or RunningJob.LeaseLost)
                {
                    if (entry.Reason == RunningJob.LeaseLost)
                    {
                        LeaseLost(entry); // Superseded by a claim of this process under a new lease: rescued elsewhere meanwhile.
                    }

                    await ReleaseLostOrCancelledAsync(entry).ConfigureAwait(false);
                }
                else
                {
                    await GiveBackQuietlyAsync(entry).ConfigureAwait(false);
                }
            }

            return false;
        }

        var tags = new TagList { JobsTelemetry.Queue(job.Queue), JobsTelemetry.Kind(job.Kind) };
        var activity = StartTelemetry(job, tags);
        var started = _time.GetTimestamp();
        var timeout = TimeoutOf(job);
        CancellationTokenSource? timeoutCts = null;
        CancellationTokenSource? linked = null;
        AsyncServiceScope? scope = null;
        JobContext? context = null;
        Exception? error = null;
        Task? abandoned = null;
        try
        {
            timeoutCts = timeout is { } t ? new CancellationTokenSource(t, _time) : null;
            linked = timeoutCts is null ? null : CancellationTokenSource.CreateLinkedTokenSource(entry.Token, timeoutCts.Token);
            var token = linked?.Token ?? entry.Token;
            scope = _services?.CreateAsyncScope();
            context = new JobContext(job, scope?.ServiceProvider);
            Task handler;
            try
            {
                handler = _handlers.TryGet(job.Kind, out var invoke)
                    ? invoke(scope?.ServiceProvider, job.PayloadJson, context, token)
                    : Task.FromException(new UnknownJobKindException(job.Kind));
            }
            catch (Exception e)
            {
                handler = Task.FromException(e);
            }

            if (timeout is { } limit && !handler.IsCompleted)
            {
                // A handler that ignores its token after the timeout does not hold its slot forever, also once its run
                // was cancelled or its lease lost: that cancels the same token, which it may ignore just as well (the
                // abandon timer was once linked to it, and such a handler then held its slot for as long as it ran).
                using var abandonCts = new CancellationTokenSource();
                var abandon = Task.Delay(AbandonAfter(limit), _time, abandonCts.Token);
                if (await Task.WhenAny(handler, abandon).ConfigureAwait(false) != handler)
                {
                    Log.HandlerIgnoredTimeout(_logger, job.Id);
                    abandoned = handler;
                }

                await abandonCts.CancelAsync().ConfigureAwait(false);
            }

            if (abandoned is null)
            {
                try
                {
                    await handler.ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    error = e;
                }
            }
            else
            {
                error = new JobTimeoutException(timeout!.Value, handlerStopped: false);
            }
        }
        catch (Exception e)
        {
            // Around the handler (its scope, its timeout's timer): the attempt fails with it, and is reported.
            error ??= e;
        }
        finally
        {
            if (abandoned is null && scope is { } s)
            {
                try
                {
                    await s.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    error ??= e;
                }
            }

            linked?.Dispose();
        }

        if (!job.HandlerStarted && abandoned is null)
        {
            // The handler is done (a handler that ignored its timeout is still running: its mark stays).
            _queue.Store.WithdrawStartMark(job.Lease);
        }

        if (abandoned is not null)
        {
            // The handler ignored its timeout: its slot is free for other jobs, but the job stays held (its lease
            // heartbeated, its scope alive) until the handler really ends, so it never runs twice at once.
            timeoutCts?.Dispose();
            entry.ReleaseSlot();
            _ = FinishAbandonedAsync(entry, abandoned, scope, error!, tags);
            StopTelemetry(activity, started, tags, error);
            return true;
        }

        if (error is OperationCanceledException && timeoutCts?.IsCancellationRequested == true && entry.Reason == RunningJob.None)
        {
            error = new JobTimeoutException(timeout!.Value, handlerStopped: true);
        }

        timeoutCts?.Dispose();
        StopTelemetry(activity, started, tags, error);
        if (!entry.TryFinish())
        {
            return false; // Shutdown gave it back already.
        }

        // The handler is done: its slot may be claimed again now, so the next claim shares a commit with this
        // outcome (group commit). The lease itself is held, and heartbeated, until the outcome commits.
        entry.ReleaseSlot();
        var report = ReportAsync(entry, error, context?.SnoozeDelay, tags);
        _reports.TryAdd(report, 0);
        _ = report.ContinueWith(t => _reports.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return false;
    }

    // A stored timeout is validated where it is read: a row written by another writer may hold any value. Beyond what
    // timers take, it is the longest they take.
    private static TimeSpan? TimeoutOf(ClaimedJob job) =>
        job.Timeout is { } t && t > TimeSpan.Zero ? (t < JobOptions.MaxTimeout ? t : JobOptions.MaxTimeout) : null;

    private TimeSpan AbandonAfter(TimeSpan limit) =>
        limit >= JobOptions.MaxTimeout - _options.TimeoutGrace ? JobOptions.MaxTimeout : limit + _options.TimeoutGrace;

    // Telemetry is never a reason for a job not to run or not to finish: a throwing listener is logged and ignored.
    private Activity? StartTelemetry(ClaimedJob job, TagList tags)
    {
        try
        {
            JobsTelemetry.Started.Add(1, tags);
            JobsTelemetry.QueueWait.Record(Math.Max(0, (job.StartedAt - job.RunAt).TotalMilliseconds), tags);
            ActivityContext.TryParse(job.TraceParent, null, out var parent);
            var activity = JobsTelemetry.Source.StartActivity("ladder.jobs.run", ActivityKind.Consumer, parent);
            activity?.SetTag("ladder.jobs.id", job.Id);
            activity?.SetTag("ladder.jobs.kind", job.Kind);
            activity?.SetTag("ladder.jobs.attempt", job.Attempt);
            return activity;
        }
        catch (Exception e)
        {
            Log.TelemetryFailed(_logger, job.Id, e);
            return null;
        }
    }

    private void StopTelemetry(Activity? activity, long started, TagList tags, Exception? error)
    {
        try
        {
            JobsTelemetry.RunDuration.Record(_time.GetElapsedTime(started).TotalMilliseconds, tags);
            activity?.SetStatus(error is null ? ActivityStatusCode.Ok : ActivityStatusCode.Error, error?.Message);
            activity?.Dispose();
        }
        catch (Exception e)
        {
            Log.TelemetryFailed(_logger, 0, e);
        }
    }

    // A run that lost its lease, or was cancelled (its handler has ended, or never started): nothing of it is kept
    // but a cancelled run's lease, released now so that a retry may run the job.
    private async Task ReleaseLostOrCancelledAsync(RunningJob entry)
    {
        try
        {
            if (entry.Reason == RunningJob.Cancelled)
            {
                await _queue.ReleaseCancelledAsync(entry.Job).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // Its lease expires instead: a retry waits until then.
            Log.LoopFailed(_logger, e);
        }
        finally
        {
            entry.Release();
            JobReported?.Invoke(entry.Job, JobOutcome.LeaseLost);
        }
    }

    // A job claimed ahead is recorded as started before its handler runs. Only a job rescued before waits for the
    // record to commit (it may have killed its process at its start); any other job's mark rides on a later commit.
    // Returns whether the handler may run: false only when a job rescued before could not be recorded.
    private Task? _watchedMarks;

    private async Task<bool> MarkStartedAsync(ClaimedJob job)
    {
        try
        {
            // A store that coalesces marks (SQLite) returns one task per write, shared by the jobs it holds.
            var mark = _queue.Store.MarkStartedAsync(job.Lease);
            if (job.WasRescued)
            {
                AwaitingStartMark?.Invoke(job.Id);
                await mark.ConfigureAwait(false);
            }
            else if (!ReferenceEquals(Interlocked.Exchange(ref _watchedMarks, mark), mark))
            {
                // One watcher per mark write, not per job: the jobs sharing it all run anyway if it fails.
                _ = mark.ContinueWith(t => Log.StartMarksFailed(_logger, t.Exception!.GetBaseException()), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (job.WasRescued)
            {
                Log.StartMarkFailedNotRun(_logger, job.Id, e);
                return false;
            }

            Log.StartMarksFailed(_logger, e);
            return true;
        }
    }

    private async Task FinishAbandonedAsync(RunningJob entry, Task handler, AsyncServiceScope? scope, Exception error, TagList tags)
    {
        try
        {
            await handler.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its outcome is the timeout, whatever it did after.
        }

        try
        {
            if (scope is { } s)
            {
                await s.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Log.LoopFailed(_logger, e);
        }

        if (entry.TryFinish())
        {
            await ReportAsync(entry, error, snooze: null, tags).ConfigureAwait(false);
        }
    }

    // The handler has returned; its outcome is committed in the background so the worker can start the next job.
    // The job's lease (and its slot) is released only once the outcome is committed.
    private async Task ReportAsync(RunningJob entry, Exception? error, TimeSpan? snooze, TagList tags)
    {
        var job = entry.Job;
        if (entry.Reason == RunningJob.Cancelled)
        {
            // Cancelled while it ran: its outcome is discarded, whatever it was; its handler has ended now.
            await ReleaseLostOrCancelledAsync(entry).ConfigureAwait(false);
            return;
        }

        var reported = JobOutcome.LeaseLost;
        try
        {
            if (error is null)
            {
                var done = snooze is { } delay ? await _queue.SnoozeAsync(job, delay).ConfigureAwait(false) : await _queue.CompleteAsync(job).ConfigureAwait(false);
                if (!done)
                {
                    OutcomeNotApplied(entry);
                }
                else if (snooze is not null)
                {
                    reported = JobOutcome.Snoozed;
                }
                else
                {
                    reported = JobOutcome.Succeeded;
                    JobsTelemetry.Succeeded.Add(1, tags);
                    Log.JobSucceeded(_logger, job.Id, job.Kind);
                }

                return;
            }

            // Interrupted by shutdown, whatever the handler threw (it may wrap the cancellation): never spend an attempt.
            if (entry.Reason == RunningJob.Interrupted || error is OperationCanceledException && entry.Reason != RunningJob.None)
            {
                if (entry.Reason == RunningJob.Interrupted && await _queue.GiveBackAsync(job).ConfigureAwait(false))
                {
                    // Interrupted by shutdown: back to the queue without spending an attempt.
                    Interlocked.Increment(ref _givenBack);
                    reported = JobOutcome.GivenBack;
                }
                else if (entry.Reason == RunningJob.LeaseLost)
                {
                    LeaseLost(entry);
                }

                return;
            }

            var permanent = error is JobPermanentFailureException or JobPayloadException;
            var (outcome, retryDelay) = await _queue.FailWithDelayAsync(job, error, permanent).ConfigureAwait(false);
            JobsTelemetry.Failed.Add(1, tags);
            switch (outcome)
            {
                case FailOutcome.Retrying:
                    reported = JobOutcome.Retrying;
                    JobsTelemetry.Retried.Add(1, tags);
                    // The retry's time by this process's clock: the store sets it by its own (PostgreSQL: the database's).
                    Log.JobRetrying(_logger, job.Id, job.Kind, job.Attempt, _time.GetUtcNow() + retryDelay, error);
                    break;
                case FailOutcome.Dead:
                    reported = JobOutcome.Dead;
                    JobsTelemetry.Dead.Add(1, tags);
                    Log.JobDead(_logger, job.Id, job.Kind, job.Attempt, error);
                    break;
                default:
                    OutcomeNotApplied(entry);
                    break;
            }
        }
        catch (Exception e)
        {
            // Not committed: the lease will expire and the job will be rescued. At-least-once still holds.
            Log.LoopFailed(_logger, e);
        }
        finally
        {
            entry.Release();
            JobReported?.Invoke(job, reported);
        }
    }
}

/// <summary>What a processor committed for an attempt (tests and diagnostics).</summary>
internal enum JobOutcome
{
    LeaseLost,
    Succeeded,
    Snoozed,
    Retrying,
    Dead,
    GivenBack,
}
