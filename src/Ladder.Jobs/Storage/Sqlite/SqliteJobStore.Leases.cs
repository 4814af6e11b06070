namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>The lease protocol in SQL: claim, start marks, outcomes, heartbeats and rescue, each a write of the one writer.</summary>
internal sealed partial class SqliteJobStore
{
    public override Task<ClaimBatch> ClaimAsync(ClaimRequest request, Action<ClaimBatch>? onClaimed)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = Random.Shared.NextInt64(1, long.MaxValue);
        var limit = request.Limit;
        var atOnce = Math.Clamp(request.StartNow, 0, limit);
        var leaseMs = (long)request.LeaseDuration.TotalMilliseconds;

        // onClaimed runs on the writer thread as the claim commits, before any later write commits: a cancel committed
        // after the claim always finds the claimed jobs registered by the processor.
        return OpenWriter.Run(
            session =>
            {
                var jobs = new List<ClaimedJob>(limit);
                var time = Now();
                var expires = time + leaseMs;

                // Limits, read in the claim's own write transaction: the one writer of each process, and BEGIN IMMEDIATE
                // across processes, serialise every claim of the file, so what the claim counts cannot change before it
                // commits (docs/jobs/concurrency.md).
                var limits = ReadLimits(session, request.Queue, time);
                if (limits.QueueRate is null && !limits.HasKeyed)
                {
                    var taken = atOnce == 0 ? 0 : ClaimInto(session, jobs, request.Queue, token, time, expires, atOnce, started: true);
                    if (taken == atOnce && limit > atOnce)
                    {
                        ClaimInto(session, jobs, request.Queue, token, time, expires, limit - atOnce, started: false);
                    }
                }
                else
                {
                    // A rate-limited queue is claimed only into free slots: its claim is its start.
                    ClaimLimited(session, jobs, request.Queue, token, time, expires, atOnce, limits.QueueRate is null ? limit : atOnce, limits);
                }

                TimeSpan? next = null;
                if (jobs.Count < limit)
                {
                    if (limits.More)
                    {
                        next = TimeSpan.Zero; // Keys left unvisited by this claim: claim again at once.
                    }
                    else if (limits.QueueRate is { Room: <= 0, ReopensAt: { } reopens })
                    {
                        next = TimeSpan.FromMilliseconds(reopens - time);
                    }
                    else if (session.Command(Sql.NextRunAt, request.Queue).ExecuteScalar() is long n)
                    {
                        next = TimeSpan.FromMilliseconds(n - time);
                    }

                    if (limits.KeyReopensAt is { } keyReopens && (next is null || keyReopens - time < next.Value.TotalMilliseconds))
                    {
                        next = TimeSpan.FromMilliseconds(keyReopens - time);
                    }
                }

                return new ClaimBatch(jobs, next, limits.HeldBack);
            },
            durable: false,
            onClaimed);
    }

    // Appends up to limit jobs in the claim's order (those starting at once first); returns how many it took.
    private static int ClaimInto(WriterSession session, List<ClaimedJob> jobs, string queue, long token, long now, long expires, int limit, bool started)
    {
        var first = jobs.Count;
        var startedAt = FromMs(now);
        using (var reader = session.Command(Sql.Claim, token, expires, now, queue, limit, started ? 1 : 0).ExecuteReader())
        {
            while (reader.Read())
            {
                jobs.Add(new ClaimedJob(
                    new JobLease(reader.GetInt64(0), token), queue, reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                    reader.GetInt32(5), Sql.Timeout(Sql.NullableInt64(reader, 6)), FromMs(reader.GetInt64(7)),
                    FromMs(reader.GetInt64(8)), startedAt, Sql.NullableString(reader, 9), reader.GetInt32(10), started, reader.GetInt32(11)));
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

    // Coalesced, not durable: every mark added while one waits in the writer's channel rides on it (one statement).
    public override Task MarkStartedAsync(JobLease lease) => _startMarks.Add(lease.JobId, lease.Token).Task;

    public override void WithdrawStartMark(JobLease lease) => _startMarks.Remove(lease.JobId, lease.Token);

    // Completions of the same moment share one statement, which returns the ids whose lease held.
    public override async Task<bool> CompleteAsync(JobLease lease)
    {
        var op = _completions.Add(lease.JobId, lease.Token);
        await op.Task.ConfigureAwait(false);
        return op.Wrote(lease.JobId);
    }

    public override Task<FailOutcome> FailAsync(JobLease lease, JobFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var message = failure.LastError;
        var startedAt = failure.StartedAt.ToUnixTimeMilliseconds();
        return OpenWriter.Run(
            session =>
            {
                var now = Now();
                var changed = failure.Dead
                    ? session.Execute(Sql.Kill, lease.JobId, lease.Token, now, message)
                    : session.Execute(Sql.Retry, lease.JobId, lease.Token, now + (long)failure.RetryDelay.TotalMilliseconds, message);
                if (changed == 0)
                {
                    return FailOutcome.LeaseLost;
                }

                session.Execute(Sql.InsertAttempt, lease.JobId, failure.Attempt, failure.Dead ? "dead" : "failed", startedAt, now, failure.ErrorType, failure.ErrorMessage, failure.ErrorStack);
                return failure.Dead ? FailOutcome.Dead : FailOutcome.Retrying;
            },
            durable: true);
    }

    public override Task<bool> SnoozeAsync(JobLease lease, TimeSpan delay) =>
        OpenWriter.Run(session => session.Execute(Sql.Snooze, lease.JobId, lease.Token, Now() + (long)delay.TotalMilliseconds) == 1, durable: true);

    public override Task<bool> GiveBackAsync(JobLease lease) =>
        OpenWriter.Run(session => session.Execute(Sql.GiveBack, lease.JobId, lease.Token) == 1, durable: true, singleStatement: true);

    public override Task<bool> ReleaseCancelledAsync(JobLease lease) =>
        OpenWriter.Run(session => session.Execute(Sql.ReleaseCancelled, lease.JobId, lease.Token) == 1, durable: true, singleStatement: true);

    public override Task<IReadOnlyList<LeaseCheck>> HeartbeatAsync(IReadOnlyList<JobLease> leases, TimeSpan leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(leases);
        var leaseMs = (long)leaseDuration.TotalMilliseconds;
        return OpenWriter.Run<IReadOnlyList<LeaseCheck>>(
            session =>
            {
                var expires = Now() + leaseMs;
                List<LeaseCheck>? checks = null;
                foreach (var lease in leases)
                {
                    var state = session.Command(Sql.Heartbeat, lease.JobId, lease.Token, expires).ExecuteScalar();
                    if (state is not long s || s != (long)JobState.Running)
                    {
                        (checks ??= []).Add(new LeaseCheck(lease, Cancelled: state is long));
                    }
                }

                return checks ?? (IReadOnlyList<LeaseCheck>)[];
            },
            durable: false);
    }

    public override Task<RescueResult> RescueExpiredAsync(RescueRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var leaseMs = (long)request.LeaseDuration.TotalMilliseconds;
        return OpenWriter.Run(
            session =>
            {
                var now = Now();
                int count = 0, unstarted = 0, poisoned = 0;

                // A process never rescues a lease it holds and heartbeats: a forward step of the wall clock (NTP, a VM
                // resumed) makes every lease look expired before the next heartbeat, so the leases held here are
                // extended first, in the same transaction and with the same clock reading as the rescue. The queue's
                // collection is enumerated here, on the writer thread, so it holds every claim committed before.
                var expires = now + leaseMs;
                foreach (var lease in request.Held)
                {
                    session.Execute(Sql.Heartbeat, lease.JobId, lease.Token, expires);
                }

                using (var recorded = session.Command(Sql.RecordRescues, now).ExecuteReader())
                {
                    while (recorded.Read())
                    {
                        unstarted += recorded.GetString(0) == "released" ? 1 : 0;
                    }
                }

                // The poison rule of the contract (JobStore.RescueExpiredAsync) is in Sql.Rescue.
                using var reader = session.Command(Sql.Rescue, now, request.MaxRescues).ExecuteReader();
                while (reader.Read())
                {
                    count++;
                    poisoned += reader.GetInt32(1) == (int)JobState.Dead ? 1 : 0;
                }

                return new RescueResult(count - unstarted, unstarted, poisoned);
            },
            durable: true);
    }

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
