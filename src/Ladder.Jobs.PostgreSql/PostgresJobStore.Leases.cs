using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>The lease protocol: claim, start marks, heartbeats, outcomes and rescue; every outcome a compare-and-set on (id, running, token).</summary>
public sealed partial class PostgresJobStore
{
    /// <inheritdoc />
    public override async Task<ClaimBatch> ClaimAsync(ClaimRequest request, Action<ClaimBatch>? onClaimed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDisposed();
        var token = Random.Shared.NextInt64(1, long.MaxValue);

        // Not retried: a claim whose answer was lost may have committed, and its jobs come back when their lease
        // expires (counted as a rescue for those recorded as started, which is what a crash right after the claim is).
        return await OnceAsync("claim jobs", async () =>
        {
            var jobs = new List<ClaimedJob>(request.Limit);
            var startNow = Math.Clamp(request.StartNow, 0, request.Limit);

            // A queue seen with limited work (keyed jobs waiting, a rate limit) is claimed by the limited claim: its jobs
            // without a key and its keyed jobs are merged in claim order there, and it says all the next-run query would.
            if (_limitedQueues.ContainsKey(request.Queue))
            {
                var limited = await ClaimLimitedAsync(request, token, request.Limit, startNow, jobs).ConfigureAwait(false);
                if (!limited.Keyed && !limited.Rated)
                {
                    _limitedQueues.TryRemove(request.Queue, out _);
                }

                var next = jobs.Count >= request.Limit ? null : limited.More ? TimeSpan.Zero : limited.Reopens ?? limited.NextPlain;
                SortInClaimOrder(jobs);
                var batch = new ClaimBatch(jobs, next, limited.HeldBack);
                onClaimed?.Invoke(batch);
                return batch;
            }

            await ClaimPlainAsync(request, token, request.Limit, startNow, jobs).ConfigureAwait(false);
            SortInClaimOrder(jobs);

            // Handed over before the next-run query: the handlers of an idle queue's wake-up start one round trip sooner.
            var handedOver = new ClaimBatch(jobs, null, 0);
            onClaimed?.Invoke(handedOver);
            if (jobs.Count >= request.Limit)
            {
                return handedOver;
            }

            // The jobs are handed over: what follows must not fail the claim (the processor counts its slots by the
            // batch returned). A failure here is logged; the queue is claimed again at the next poll or wake-up.
            TimeSpan? nextRun;
            var more = new List<ClaimedJob>(request.Limit - jobs.Count);
            (int HeldBack, bool Keyed, bool Rated, TimeSpan? Reopens, bool More, TimeSpan? NextPlain) extra;
            try
            {
                var (keyed, rated) = (false, false);
                // Sequential scans off in its implicit transaction (Sql.NoSeqScan), as for the claims.
                await using (var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false))
                await using (var batch = new NpgsqlBatch(connection))
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.NoSeqScan));
                    var command = new NpgsqlBatchCommand(_sql.NextRunIn);
                    AddNow(command.Parameters);
                    command.Parameters.Add(P("queue", request.Queue, NpgsqlDbType.Text));
                    batch.BatchCommands.Add(command);
                    await PrepareAsync(batch).ConfigureAwait(false);
                    await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
                    await reader.NextResultAsync().ConfigureAwait(false); // The setting's row.
                    await reader.ReadAsync().ConfigureAwait(false);
                    nextRun = reader.IsDBNull(0) ? null : reader.GetFieldValue<TimeSpan>(0);
                    keyed = reader.GetBoolean(1);
                    rated = reader.GetBoolean(2);
                }

                if (!keyed && !rated)
                {
                    return new ClaimBatch(jobs, nextRun, 0);
                }

                // The queue has limited work the plain claim did not look at: claim it into what is left, a second
                // transaction with a call of its own. Every job the plain claim recorded as started was started at once
                // (it found fewer jobs than it wanted), so the limited claim's started jobs follow them in claim order.
                _limitedQueues.TryAdd(request.Queue, true);
                var started = jobs.Count(static j => j.HandlerStarted);
                extra = await ClaimLimitedAsync(request, token, request.Limit - jobs.Count, Math.Max(0, startNow - started), more).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                if (e is not ObjectDisposedException) // Closing: nothing to tell.
                {
                    Log.ClaimFollowUpFailed(_logger, e, request.Queue, jobs.Count);
                }

                return handedOver;
            }

            // Outside the try: the follow-up's jobs are committed, and a failure of their hand-over is the caller's, as
            // for the first. They run after the plain jobs (a keyed job of higher priority claimed ahead here waits behind
            // plain ones claimed ahead: only in the first claim after another host enqueued keyed work).
            SortInClaimOrder(more);
            onClaimed?.Invoke(new ClaimBatch(more, null, extra.HeldBack));
            List<ClaimedJob> all = [.. jobs, .. more]; // The first call's list stays as it was handed over.
            if (extra.More)
            {
                nextRun = TimeSpan.Zero; // Keys left unvisited by this claim: claim again at once.
            }
            else if (extra.Reopens is { } reopens)
            {
                nextRun = reopens;
            }

            return new ClaimBatch(all, all.Count >= request.Limit ? null : nextRun, extra.HeldBack);
        }).ConfigureAwait(false);
    }

    // RETURNING has no order: run in the claim's order (those started at once come first in it).
    private static void SortInClaimOrder(List<ClaimedJob> jobs) =>
        jobs.Sort(static (a, b) => a.HandlerStarted != b.HandlerStarted ? b.HandlerStarted.CompareTo(a.HandlerStarted)
            : a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority)
            : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt)
            : a.Id.CompareTo(b.Id));

    /// <inheritdoc />
    public override Task MarkStartedAsync(JobLease lease)
    {
        ThrowIfDisposed();
        return (_startMarks ?? throw NotOpen()).Add(lease);
    }

    /// <inheritdoc />
    public override void WithdrawStartMark(JobLease lease) => _startMarks?.Withdraw(lease);

    /// <inheritdoc />
    public override Task<bool> CompleteAsync(JobLease lease)
    {
        ThrowIfDisposed();
        return Ended(lease, (_completions ?? throw NotOpen()).Add(lease));
    }

    /// <inheritdoc />
    public override Task<FailOutcome> FailAsync(JobLease lease, JobFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ThrowIfDisposed();
        return Ended(lease, RetryingAsync("a failed attempt", async retried =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using var command = Command(_sql.Fail, connection);
            AddLease(command, lease, retried);
            command.Parameters.Add(P("dead", failure.Dead, NpgsqlDbType.Boolean));
            command.Parameters.Add(P("delay", failure.RetryDelay, NpgsqlDbType.Interval));
            command.Parameters.Add(P("last_error", failure.LastError, NpgsqlDbType.Text));
            command.Parameters.Add(P("attempt", failure.Attempt, NpgsqlDbType.Integer));
            command.Parameters.Add(P("started_at", failure.StartedAt, NpgsqlDbType.TimestampTz));
            command.Parameters.Add(P("error_type", failure.ErrorType, NpgsqlDbType.Text));
            command.Parameters.Add(P("error_message", failure.ErrorMessage, NpgsqlDbType.Text));
            command.Parameters.Add(P("error_stack", failure.ErrorStack, NpgsqlDbType.Text));
            await PrepareAsync(command).ConfigureAwait(false);
            return await command.ExecuteScalarAsync().ConfigureAwait(false) switch
            {
                short s when s == (short)JobState.Dead => FailOutcome.Dead,
                short => FailOutcome.Retrying,
                _ => FailOutcome.LeaseLost,
            };
        }));
    }

    /// <inheritdoc />
    public override Task<bool> SnoozeAsync(JobLease lease, TimeSpan delay)
    {
        ThrowIfDisposed();
        return Ended(lease, RetryingAsync("a snooze", async retried =>
        {
            await using var command = Command(_sql.Snooze);
            AddLease(command, lease, retried);
            command.Parameters.Add(P("delay", delay, NpgsqlDbType.Interval));
            return await command.ExecuteScalarAsync().ConfigureAwait(false) is long;
        }));
    }

    /// <inheritdoc />
    public override async Task<bool> GiveBackAsync(JobLease lease)
    {
        ThrowIfDisposed();
        var queue = await RetryingAsync("a give-back", async retried =>
        {
            await using var command = Command(_sql.GiveBack);
            AddLease(command, lease, retried);
            return await command.ExecuteScalarAsync().ConfigureAwait(false) as string;
        }).ConfigureAwait(false);
        if (queue is not null)
        {
            // Another host may be idle while this one shuts down.
            NotifySoon(queue);
        }

        _limitedRuns.TryRemove(lease, out _);

        return queue is not null;
    }

    /// <inheritdoc />
    public override Task<bool> ReleaseCancelledAsync(JobLease lease)
    {
        ThrowIfDisposed();

        // Retried too: a second run matches nothing (the token is cleared), which only under-reports a release that did commit.
        return RetryingAsync("a cancelled run's release", async _ =>
        {
            await using var command = Command(_sql.ReleaseCancelled);
            command.Parameters.Add(P("id", lease.JobId, NpgsqlDbType.Bigint));
            command.Parameters.Add(P("token", lease.Token, NpgsqlDbType.Bigint));
            return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
        });
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<LeaseCheck>> HeartbeatAsync(IReadOnlyList<JobLease> leases, TimeSpan leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(leases);
        ThrowIfDisposed();
        if (leases.Count == 0)
        {
            return [];
        }

        // Every lease of the call in one statement; extending twice is harmless, so a lost answer is simply retried.
        var held = await RetryingAsync("heartbeats", async _ =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using var command = Command(_sql.Heartbeat, connection);
            AddLeaseArrays(command, leases);
            command.Parameters.Add(P("lease", leaseDuration, NpgsqlDbType.Interval));
            await PrepareAsync(command).ConfigureAwait(false);
            var states = new Dictionary<JobLease, short>(leases.Count);
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                states[new JobLease(reader.GetInt64(0), reader.GetInt64(1))] = reader.GetInt16(2);
            }

            return states;
        }, leaseDuration).ConfigureAwait(false);
        var checks = new List<LeaseCheck>();
        foreach (var lease in leases)
        {
            if (!held.TryGetValue(lease, out var state))
            {
                checks.Add(new LeaseCheck(lease, Cancelled: false));
            }
            else if (state == (short)JobState.Cancelled)
            {
                checks.Add(new LeaseCheck(lease, Cancelled: true));
            }
        }

        return checks;
    }

    /// <inheritdoc />
    public override async Task<RescueResult> RescueExpiredAsync(RescueRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfDisposed();

        // One batch, one implicit transaction: the leases this process holds are extended first, by the same clock as
        // the rescue that follows, so a process never rescues a lease it heartbeats. Sequential scans off in it
        // (Sql.NoSeqScan): no index holds lease_expires_at, and analyzed while most jobs ran, the planner read the
        // whole table for the expired leases rather than the running rows of jobs_state.
        var (rescued, released, dead) = await RetryingAsync("a rescue", async _ =>
        {
            await using var batch = _dataSource.CreateBatch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.NoSeqScan));
            if (request.Held.Count > 0)
            {
                var extend = new NpgsqlBatchCommand(_sql.ExtendHeld);
                AddNow(extend.Parameters);
                var held = request.Held.ToList();
                extend.Parameters.Add(P("id", held.ConvertAll(static l => l.JobId).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                extend.Parameters.Add(P("token", held.ConvertAll(static l => l.Token).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                extend.Parameters.Add(P("lease", request.LeaseDuration, NpgsqlDbType.Interval));
                batch.BatchCommands.Add(extend);
            }

            var rescue = new NpgsqlBatchCommand(_sql.Rescue);
            AddNow(rescue.Parameters);
            rescue.Parameters.Add(P("max_rescues", request.MaxRescues, NpgsqlDbType.Integer));
            rescue.Parameters.Add(P("channel", _sql.Channel, NpgsqlDbType.Text));
            rescue.Parameters.Add(P("notify", _options.UseListenNotify, NpgsqlDbType.Boolean));
            batch.BatchCommands.Add(rescue);
            int counted = 0, uncounted = 0, poisoned = 0;
            await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
            await reader.NextResultAsync().ConfigureAwait(false); // The setting's row; the extension returns none.
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                if (reader.GetBoolean(1))
                {
                    counted++;
                }
                else
                {
                    uncounted++;
                }

                poisoned += reader.GetInt16(2) == (short)JobState.Dead ? 1 : 0;
            }

            return (counted, uncounted, poisoned);
        }, request.LeaseDuration).ConfigureAwait(false);

        // The other hosts were notified by the rescue's own commit (Sql.Rescue); this host's processors by the queue.
        return new RescueResult(rescued, released, dead);
    }

    private static void AddLease(NpgsqlCommand command, JobLease lease, bool retried)
    {
        command.Parameters.Add(P("id", lease.JobId, NpgsqlDbType.Bigint));
        command.Parameters.Add(P("token", lease.Token, NpgsqlDbType.Bigint));
        command.Parameters.Add(P("retried", retried, NpgsqlDbType.Boolean));
    }

    private static void AddLeaseArrays(NpgsqlCommand command, IReadOnlyList<JobLease> leases)
    {
        var ids = new long[leases.Count];
        var tokens = new long[leases.Count];
        for (var i = 0; i < leases.Count; i++)
        {
            ids[i] = leases[i].JobId;
            tokens[i] = leases[i].Token;
        }

        command.Parameters.Add(P("id", ids, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
        command.Parameters.Add(P("token", tokens, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
    }

    private static InvalidOperationException NotOpen() => new("The job store is not open: JobQueue.OpenAsync opens it.");
}
