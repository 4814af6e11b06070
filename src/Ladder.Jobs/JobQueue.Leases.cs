using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>
/// What the processor asks of the queue: claims, outcomes, heartbeats and rescue, each passed to the store as a
/// compare-and-set on (id, running, lease token). The queue decides what does not depend on the store: the retry
/// (dead when permanent or out of attempts, else a backoff), the leases a rescue must never take, and the wake-ups.
/// </summary>
public sealed partial class JobQueue
{
    private readonly Lock _holdersLock = new();
    private Func<IReadOnlyCollection<ClaimedJob>>[] _leaseHolders = [];

    /// <param name="queue">The queue to claim from.</param>
    /// <param name="limit">How many jobs at most.</param>
    /// <param name="onClaimed">Runs as the claim's jobs commit (once per transaction that took them: JobStore.ClaimAsync); in the SQLite store on the writer thread, before any later write commits (a cancel of a claimed job is seen after it).</param>
    /// <param name="startNow">
    /// How many of them start their handlers at once (default: all); the claim records them as started. The rest are
    /// claimed ahead, and recorded as started only when their handlers start.
    /// </param>
    internal Task<ClaimBatch> ClaimAsync(string queue, int limit, Action<ClaimBatch>? onClaimed = null, int? startNow = null)
    {
        ThrowIfDisposed();

        // Counted in the commit callback, not after the task: no extra hop on the claim's path.
        void Claimed(ClaimBatch batch)
        {
            if (batch.HeldBack > 0)
            {
                JobsTelemetry.HeldBack.Add(batch.HeldBack, JobsTelemetry.Queue(queue));
                Log.HeldBack(Logger, queue, batch.HeldBack);
            }

            onClaimed?.Invoke(batch);
        }

        return _store.ClaimAsync(new ClaimRequest(queue, limit, Math.Clamp(startNow ?? limit, 0, limit), Settings.LeaseDuration), Claimed);
    }

    /// <summary>Completes a job: true if its lease held.</summary>
    internal async Task<bool> CompleteAsync(ClaimedJob job)
    {
        ThrowIfDisposed();
        var done = await _store.CompleteAsync(job.Lease).ConfigureAwait(false);
        SignalFinished();
        return done;
    }

    internal async Task<bool> SnoozeAsync(ClaimedJob job, TimeSpan delay)
    {
        var snoozed = await _store.SnoozeAsync(job.Lease, delay).ConfigureAwait(false);
        if (snoozed)
        {
            NotifyAvailable(job.Queue);
        }

        return snoozed;
    }

    internal Task<bool> GiveBackAsync(ClaimedJob job) => _store.GiveBackAsync(job.Lease);

    /// <summary>The handler of a run cancelled while it ran has ended: releases its lease, so a retry may run the job.</summary>
    internal Task<bool> ReleaseCancelledAsync(ClaimedJob job) => _store.ReleaseCancelledAsync(job.Lease);

    /// <summary>Records a failed attempt: dead when <paramref name="permanent"/> or out of attempts, else retried after a backoff.</summary>
    internal async Task<FailOutcome> FailAsync(ClaimedJob job, Exception error, bool permanent) =>
        (await FailWithDelayAsync(job, error, permanent).ConfigureAwait(false)).Outcome;

    /// <summary>Fails the attempt; also returns the retry's delay (jittered, so only known here), for the log of a retry.</summary>
    internal async Task<(FailOutcome Outcome, TimeSpan RetryDelay)> FailWithDelayAsync(ClaimedJob job, Exception error, bool permanent)
    {
        var dead = permanent || job.Attempt >= job.MaxAttempts;
        var delay = dead ? TimeSpan.Zero : Backoff.Delay(job.Attempt, Settings.RetryBaseDelay, Settings.RetryMaxDelay);
        var type = error.GetType();
        var failure = new JobFailure(job.Attempt, job.StartedAt, dead, delay, type.FullName ?? type.Name, error.Message, error.StackTrace);
        var outcome = await _store.FailAsync(job.Lease, failure).ConfigureAwait(false);
        if (outcome == FailOutcome.Retrying)
        {
            NotifyAvailable(job.Queue);
        }
        else if (outcome == FailOutcome.Dead)
        {
            SignalFinished();
        }

        return (outcome, delay);
    }

    /// <summary>
    /// Extends the leases held; returns the runs whose lease was lost (rescued elsewhere), or that were cancelled (their
    /// lease is still extended until their handler ends). The token matters: by the time the answer arrives, the same
    /// job may be held again under a new lease.
    /// </summary>
    internal async Task<List<(ClaimedJob Job, bool Cancelled)>> HeartbeatAsync(IReadOnlyList<ClaimedJob> jobs)
    {
        var leases = new JobLease[jobs.Count];
        for (var i = 0; i < leases.Length; i++)
        {
            leases[i] = jobs[i].Lease;
        }

        var checks = await _store.HeartbeatAsync(leases, Settings.LeaseDuration).ConfigureAwait(false);
        var found = new List<(ClaimedJob, bool)>(checks.Count);
        if (checks.Count == 0)
        {
            return found;
        }

        var byLease = new Dictionary<JobLease, ClaimedJob>(jobs.Count);
        foreach (var job in jobs)
        {
            byLease.TryAdd(job.Lease, job);
        }

        foreach (var check in checks)
        {
            if (byLease.TryGetValue(check.Lease, out var job))
            {
                found.Add((job, check.Cancelled));
            }
        }

        return found;
    }

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
    /// whose handler had not started (claimed ahead) is released uncounted. The rule is the store's (see
    /// <see cref="JobStore.RescueExpiredAsync"/>); the leases this process holds are never taken.
    /// </summary>
    /// <returns>How many were put back or dead (released ones included), and how many of them are now dead.</returns>
    internal async Task<(int Rescued, int Dead)> RescueExpiredAsync()
    {
        ThrowIfDisposed();
        var result = await _store.RescueExpiredAsync(new RescueRequest(_held, Settings.LeaseDuration, Settings.MaxRescues)).ConfigureAwait(false);
        var total = result.Rescued + result.Released;
        if (total > 0)
        {
            Log.Rescued(Logger, result.Rescued, result.Dead, result.Released);
            JobsTelemetry.Rescued.Add(result.Rescued);
            JobsTelemetry.Released.Add(result.Released);
            JobsTelemetry.Dead.Add(result.Dead);
            if (result.Dead > 0)
            {
                SignalFinished();
            }

            foreach (var queue in Settings.Queues.Keys)
            {
                NotifyAvailable(queue);
            }
        }

        return (total, result.Dead);
    }

    /// <summary>
    /// The leases this process's processors hold, read when enumerated: a store enumerates it inside its rescue's
    /// transaction (the SQLite store on its writer thread), so it holds every claim that committed before.
    /// </summary>
    private sealed class HeldLeases(JobQueue queue) : IReadOnlyCollection<JobLease>
    {
        public int Count
        {
            get
            {
                var count = 0;
                foreach (var holder in queue.LeaseHolders())
                {
                    count += holder().Count;
                }

                return count;
            }
        }

        public IEnumerator<JobLease> GetEnumerator()
        {
            foreach (var holder in queue.LeaseHolders())
            {
                foreach (var job in holder())
                {
                    yield return job.Lease;
                }
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
