using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>A job claimed under a lease: everything a processor needs to run it and report its outcome.</summary>
/// <remarks>
/// <c>HandlerStarted</c>: whether the claim recorded the handler as started (it runs at once). A job claimed ahead is
/// recorded when its handler starts (<see cref="JobQueue.StartMarks"/>); until then a crash does not count as its
/// rescue. <c>RescuesUnstarted</c>: times its lease expired before its handler was recorded as started.
/// </remarks>
internal sealed record ClaimedJob(
    long Id, long LeaseToken, string Queue, string Kind, string Payload, int Attempt, int MaxAttempts, int Rescues,
    long? TimeoutMs, long CreatedAt, long RunAt, long StartedAt, string? TraceParent, int Priority, bool HandlerStarted = true,
    int RescuesUnstarted = 0)
{
    /// <summary>
    /// Whether the job was rescued before: counted, or before its start was recorded (perhaps a crash right at its
    /// start). Such a job, claimed ahead, waits for its start mark to commit before its handler runs.
    /// </summary>
    public bool WasRescued => Rescues > 0 || RescuesUnstarted > 0;
}

/// <summary>The jobs a claim took, and when the next job of the queue becomes runnable if it took fewer than asked.</summary>
internal sealed record ClaimBatch(IReadOnlyList<ClaimedJob> Jobs, long? NextRunAt);

/// <summary>What a failure did to its job.</summary>
internal enum FailOutcome
{
    LeaseLost,
    Retrying,
    Dead,
}

/// <summary>The lease protocol: claim, heartbeat, outcomes and rescue. Every outcome is a compare-and-set on (id, running, token).</summary>
public sealed partial class JobQueue
{
    /// <param name="queue">The queue to claim from.</param>
    /// <param name="limit">How many jobs at most.</param>
    /// <param name="onClaimed">Runs on the writer thread once the claim commits, before any later write commits (a cancel of a claimed job is seen after it).</param>
    /// <param name="startNow">
    /// How many of them start their handlers at once (default: all); the claim records them as started. The rest are
    /// claimed ahead, and recorded as started only when their handlers start.
    /// </param>
    internal Task<ClaimBatch> ClaimAsync(string queue, int limit, Action<ClaimBatch>? onClaimed = null, int? startNow = null)
    {
        ThrowIfDisposed();
        var token = Random.Shared.NextInt64(1, long.MaxValue);
        var atOnce = Math.Clamp(startNow ?? limit, 0, limit);
        return _writer.Run(
            session =>
            {
                var jobs = new List<ClaimedJob>(limit);
                var time = Now();
                var expires = time + (long)Settings.LeaseDuration.TotalMilliseconds;
                var taken = atOnce == 0 ? 0 : ClaimInto(session, jobs, queue, token, time, expires, atOnce, started: true);
                if (taken == atOnce && limit > atOnce)
                {
                    ClaimInto(session, jobs, queue, token, time, expires, limit - atOnce, started: false);
                }

                long? next = null;
                if (jobs.Count < limit && session.Command(Sql.NextRunAt, queue).ExecuteScalar() is long n)
                {
                    next = n;
                }

                return new ClaimBatch(jobs, next);
            },
            durable: false,
            onClaimed);
    }

    // Appends up to limit jobs in the claim's order (those starting at once first); returns how many it took.
    private static int ClaimInto(WriterSession session, List<ClaimedJob> jobs, string queue, long token, long now, long expires, int limit, bool started)
    {
        var first = jobs.Count;
        using (var reader = session.Command(Sql.Claim, token, expires, now, queue, limit, started ? 1 : 0).ExecuteReader())
        {
            while (reader.Read())
            {
                jobs.Add(new ClaimedJob(
                    reader.GetInt64(0), token, queue, reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                    reader.GetInt32(5), Sql.NullableInt64(reader, 6), reader.GetInt64(7), reader.GetInt64(8), now,
                    Sql.NullableString(reader, 9), reader.GetInt32(10), started, reader.GetInt32(11)));
            }
        }

        // RETURNING has no order: run in the claim's order.
        jobs.Sort(first, jobs.Count - first, ClaimOrder.Instance);
        return jobs.Count - first;
    }

    private sealed class ClaimOrder : IComparer<ClaimedJob>
    {
        public static readonly ClaimOrder Instance = new();

        public int Compare(ClaimedJob? a, ClaimedJob? b) =>
            a!.Priority != b!.Priority ? b.Priority.CompareTo(a.Priority) : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt) : a.Id.CompareTo(b.Id);
    }

    /// <summary>Reads a pragma on the writer connection, inside a batch of the given durability (tests).</summary>
    internal Task<long> ReadWriterPragmaAsync(string name, bool durable = true) =>
        _writer.Run(session => (long)session.Command($"PRAGMA {name};").ExecuteScalar()!, durable);

    /// <summary>Completes a job: true if its lease held. Completions of the same moment share one statement.</summary>
    internal async Task<bool> CompleteAsync(ClaimedJob job)
    {
        ThrowIfDisposed();
        var op = _completions.Add(job.Id, job.LeaseToken);
        await op.Task.ConfigureAwait(false);
        SignalFinished();
        return op.Wrote(job.Id);
    }

    internal Task<bool> SnoozeAsync(ClaimedJob job, TimeSpan delay) =>
        _writer.Run(session => session.Execute(Sql.Snooze, job.Id, job.LeaseToken, Now() + (long)delay.TotalMilliseconds) == 1, durable: true, snoozed =>
        {
            if (snoozed)
            {
                NotifyAvailable(job.Queue);
            }
        });

    internal Task<bool> GiveBackAsync(ClaimedJob job) =>
        _writer.Run(session => session.Execute(Sql.GiveBack, job.Id, job.LeaseToken) == 1, durable: true, singleStatement: true);

    internal Task<FailOutcome> FailAsync(ClaimedJob job, Exception error, bool permanent, long? retryAtOverride = null)
    {
        var backoff = Backoff.Delay(job.Attempt, Settings.RetryBaseDelay, Settings.RetryMaxDelay);
        var dead = permanent || job.Attempt >= job.MaxAttempts;
        var message = $"{error.GetType().FullName}: {error.Message}";
        return _writer.Run(
            session =>
            {
                var now = Now();
                var changed = dead
                    ? session.Execute(Sql.Kill, job.Id, job.LeaseToken, now, message)
                    : session.Execute(Sql.Retry, job.Id, job.LeaseToken, retryAtOverride ?? now + (long)backoff.TotalMilliseconds, message);
                if (changed == 0)
                {
                    return FailOutcome.LeaseLost;
                }

                session.Execute(Sql.InsertAttempt, job.Id, job.Attempt, dead ? "dead" : "failed", job.StartedAt, now, error.GetType().FullName, error.Message, error.StackTrace);
                return dead ? FailOutcome.Dead : FailOutcome.Retrying;
            },
            durable: true,
            outcome =>
            {
                if (outcome == FailOutcome.Retrying)
                {
                    NotifyAvailable(job.Queue);
                }
                else if (outcome == FailOutcome.Dead)
                {
                    SignalFinished();
                }
            });
    }

    /// <summary>
    /// Extends the leases held; returns the runs (id and lease token) whose lease was lost (rescued elsewhere), or that
    /// were cancelled (their lease is still extended until their handler ends). The token matters: by the time the
    /// answer arrives, the same job may be held again under a new lease.
    /// </summary>
    internal Task<List<(ClaimedJob Job, bool Cancelled)>> HeartbeatAsync(IReadOnlyList<ClaimedJob> jobs) =>
        _writer.Run(
            session =>
            {
                var expires = Now() + (long)Settings.LeaseDuration.TotalMilliseconds;
                var lost = new List<(ClaimedJob, bool)>();
                foreach (var job in jobs)
                {
                    var state = session.Command(Sql.Heartbeat, job.Id, job.LeaseToken, expires).ExecuteScalar();
                    if (state is not long s || s != (long)JobState.Running)
                    {
                        lost.Add((job, state is long));
                    }
                }

                return lost;
            },
            durable: false);

    /// <summary>The handler of a run cancelled while it ran has ended: releases its lease, so a retry may run the job.</summary>
    internal Task<bool> ReleaseCancelledAsync(ClaimedJob job) =>
        _writer.Run(session => session.Execute(Sql.ReleaseCancelled, job.Id, job.LeaseToken) == 1, durable: true, singleStatement: true);

    private readonly Lock _holdersLock = new();
    private Func<IReadOnlyCollection<ClaimedJob>>[] _leaseHolders = [];

    /// <summary>Registers the leases a processor holds, so that this process's rescue never takes them (see <see cref="RescueExpiredAsync"/>).</summary>
    internal void AddLeaseHolder(Func<IReadOnlyCollection<ClaimedJob>> held)
    {
        lock (_holdersLock)
        {
            _leaseHolders = [.. _leaseHolders, held];
        }
    }

    internal void RemoveLeaseHolder(Func<IReadOnlyCollection<ClaimedJob>> held)
    {
        lock (_holdersLock)
        {
            _leaseHolders = [.. _leaseHolders.Where(h => h != held)];
        }
    }

    private Func<IReadOnlyCollection<ClaimedJob>>[] LeaseHolders() => Volatile.Read(ref _leaseHolders);

    /// <summary>
    /// Puts running jobs whose lease expired back in their queue, or dead as poison after too many rescues. A job
    /// whose handler had not started (claimed ahead) is released uncounted.
    /// </summary>
    /// <returns>How many were put back or dead (released ones included), and how many of them are now dead.</returns>
    internal async Task<(int Rescued, int Dead)> RescueExpiredAsync()
    {
        var (rescued, released, dead) = await _writer.Run(
            session =>
            {
                var now = Now();
                int count = 0, unstarted = 0, poisoned = 0;

                // A process never rescues a lease it holds and heartbeats: a forward step of the wall clock (NTP, a VM
                // resumed) makes every lease look expired before the next heartbeat, so the leases held here are
                // extended first, in the same transaction and with the same clock reading as the rescue.
                var expires = now + (long)Settings.LeaseDuration.TotalMilliseconds;
                foreach (var holder in LeaseHolders())
                {
                    foreach (var job in holder())
                    {
                        session.Execute(Sql.Heartbeat, job.Id, job.LeaseToken, expires);
                    }
                }

                using (var recorded = session.Command(Sql.RecordRescues, now).ExecuteReader())
                {
                    while (recorded.Read())
                    {
                        unstarted += recorded.GetString(0) == "released" ? 1 : 0;
                    }
                }

                using var reader = session.Command(Sql.Rescue, now, Settings.MaxRescues).ExecuteReader();
                while (reader.Read())
                {
                    count++;
                    poisoned += reader.GetInt32(1) == (int)JobState.Dead ? 1 : 0;
                }

                return (count, unstarted, poisoned);
            },
            durable: true).ConfigureAwait(false);
        if (rescued > 0)
        {
            Log.Rescued(Logger, rescued - released, dead, released);
            JobsTelemetry.Rescued.Add(rescued - released);
            JobsTelemetry.Released.Add(released);
            JobsTelemetry.Dead.Add(dead);
            if (dead > 0)
            {
                SignalFinished();
            }

            foreach (var queue in Settings.Queues.Keys)
            {
                NotifyAvailable(queue);
            }
        }

        return (rescued, dead);
    }
}
