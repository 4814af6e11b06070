using System.Collections.Concurrent;
using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>
/// Concurrency keys and rate limits, enforced by the claim under one advisory lock per schema (docs/jobs/concurrency.md):
/// SKIP LOCKED alone lets two claimers each count the same running jobs of a key and both start one more.
/// </summary>
public sealed partial class PostgresJobStore
{
    // Queues seen with limited work: their claims go to the limited claim first (a hint; the statements decide).
    private readonly ConcurrentDictionary<string, bool> _limitedQueues = new(StringComparer.Ordinal);

    // Runs of this store claimed under a limit, with their queue: when one ends, other hosts are told (a NOTIFY), since a
    // job held back by the same key or rate may start now.
    private readonly ConcurrentDictionary<JobLease, string> _limitedRuns = new();

    private long LimitsLockKey => _limitsLockKey ??= LockKeyOf(_options.Schema);

    private long? _limitsLockKey;

    // A stable 64-bit key per schema (FNV-1a of its name), apart from the migration's lock key space by its salt.
    private static long LockKeyOf(string schema)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in "ladder.jobs.limits:" + schema)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }

    private async Task ClaimPlainAsync(ClaimRequest request, long token, int limit, int startNow, List<ClaimedJob> jobs)
    {
        // One round trip, one implicit transaction: sequential and bitmap scans off for the claim only (set_config local
        // to it; Sql.NoSeqOrBitmapScan). Until the table is analyzed after a large enqueue, the planner guesses a couple of
        // claimable rows and may read every entry of the claimable index into a bitmap and sort it (100+ ms per claim at
        // 60,000 queued jobs: docs/benchmarks/jobs-postgresql.md, "Through the store"); the index scan in claim order
        // stops at the limit.
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var claim = new NpgsqlBatch(connection);
        claim.BatchCommands.Add(new NpgsqlBatchCommand(_options.BitmapClaims ? Sql.NoSeqScan : Sql.NoSeqOrBitmapScan));

        var command = new NpgsqlBatchCommand(_sql.Claim);
        AddNow(command.Parameters);
        command.Parameters.Add(P("queue", request.Queue, NpgsqlDbType.Text));
        command.Parameters.Add(P("limit", limit, NpgsqlDbType.Integer));
        command.Parameters.Add(P("token", token, NpgsqlDbType.Bigint));
        command.Parameters.Add(P("lease", request.LeaseDuration, NpgsqlDbType.Interval));
        command.Parameters.Add(P("start_now", startNow, NpgsqlDbType.Bigint));
        claim.BatchCommands.Add(command);
        await PrepareAsync(claim).ConfigureAwait(false);
        await using var reader = await claim.ExecuteReaderAsync().ConfigureAwait(false);
        await reader.NextResultAsync().ConfigureAwait(false); // The settings' row.

        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            jobs.Add(ReadClaimed(reader, request.Queue, token, limited: false));
        }
    }

    // The most keys one limited claim visits beyond what it takes; the next claim goes on from where it stopped.
    private const int ExtraKeysPerClaim = 32;

    // Per queue, the last key a limited claim visited: the next starts after it (round robin over the keys).
    private readonly ConcurrentDictionary<string, string> _keyCursors = new(StringComparer.Ordinal);

    // Per queue, where a run of fruitless limited claims (no job taken, the most keys visited) began, and whether it has
    // wrapped past the last key: the walk of the next claim ends there (LimitSql.Claim).
    private readonly ConcurrentDictionary<string, (string End, bool Passed)> _fruitlessWalks = new(StringComparer.Ordinal);

    // One round trip, one implicit transaction: the lock, then the claim (its snapshot taken after the lock is granted).
    private async Task<(int HeldBack, bool Keyed, bool Rated, TimeSpan? Reopens, bool More, TimeSpan? NextPlain)> ClaimLimitedAsync(
        ClaimRequest request, long token, int target, int startNow, List<ClaimedJob> jobs)
    {
        // Prepared (PrepareAsync): the statement is long, and planning it took longer than running it (33 ms against
        // 21 ms, measured under load). Sequential and bitmap scans off (Sql.NoSeqOrBitmapScan, whatever BitmapClaims says:
        // that option is the plain claim's): analyzed while no job had a key,
        // the walk read every keyed entry for each key it visited, by a scan of the table or, with that off, a bitmap of
        // jobs_claimable_keyed (352 ms against 1.1 ms per claim at 100,000 keyed jobs), not one seek per key.
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.NoSeqOrBitmapScan));
        var lockCommand = new NpgsqlBatchCommand(_limitSql.Lock);
        lockCommand.Parameters.Add(P("lock_key", LimitsLockKey, NpgsqlDbType.Bigint));
        batch.BatchCommands.Add(lockCommand);
        var claim = new NpgsqlBatchCommand(_limitSql.Claim);
        AddNow(claim.Parameters);
        claim.Parameters.Add(P("queue", request.Queue, NpgsqlDbType.Text));
        claim.Parameters.Add(P("target", target, NpgsqlDbType.Integer));
        claim.Parameters.Add(P("start_now", startNow, NpgsqlDbType.Integer));
        var cursor = _keyCursors.GetValueOrDefault(request.Queue, "");
        var fruitless = _fruitlessWalks.TryGetValue(request.Queue, out var run) ? run : ((string End, bool Passed)?)null;
        claim.Parameters.Add(P("cursor", cursor, NpgsqlDbType.Text));
        claim.Parameters.Add(P("walk_end", (object?)fruitless?.End ?? DBNull.Value, NpgsqlDbType.Text));
        claim.Parameters.Add(P("walk_passed", fruitless?.Passed ?? false, NpgsqlDbType.Boolean));
        claim.Parameters.Add(P("max_keys", target + ExtraKeysPerClaim, NpgsqlDbType.Integer));
        claim.Parameters.Add(P("token", token, NpgsqlDbType.Bigint));
        claim.Parameters.Add(P("lease", request.LeaseDuration, NpgsqlDbType.Interval));
        batch.BatchCommands.Add(claim);
        await PrepareAsync(batch).ConfigureAwait(false);
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        await reader.NextResultAsync().ConfigureAwait(false); // The settings' row.
        await reader.NextResultAsync().ConfigureAwait(false); // The lock's row.
        (int, bool, bool, TimeSpan?, bool, TimeSpan?) flags = (0, false, false, null, false, null);
        var taken = jobs.Count;
        var wrapped = false;
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            if (reader.IsDBNull(0))
            {
                flags = ((int)reader.GetInt64(14), reader.GetBoolean(15), reader.GetBoolean(16), reader.IsDBNull(17) ? null : reader.GetFieldValue<TimeSpan>(17),
                    reader.GetBoolean(19), reader.IsDBNull(20) ? null : reader.GetFieldValue<TimeSpan>(20));
                wrapped = reader.GetBoolean(21);
                if (!reader.IsDBNull(18))
                {
                    _keyCursors[request.Queue] = reader.GetString(18);
                }

                continue;
            }

            var job = ReadClaimed(reader, request.Queue, token, limited: true);
            _limitedRuns[job.Lease] = request.Queue;
            jobs.Add(job);
        }

        if (flags.Item5 && jobs.Count == taken)
        {
            _fruitlessWalks[request.Queue] = fruitless is { } going ? (going.End, going.Passed || wrapped) : (cursor, wrapped);
        }
        else
        {
            _fruitlessWalks.TryRemove(request.Queue, out _);
        }

        return flags;
    }

    private static ClaimedJob ReadClaimed(NpgsqlDataReader reader, string queue, long token, bool limited) => new(
        new JobLease(reader.GetInt64(0), token), queue, reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
        reader.GetInt32(4), reader.GetInt32(5), reader.IsDBNull(6) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(6)),
        reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9),
        reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetInt32(11), reader.GetBoolean(12), reader.GetInt32(13), limited);

    // A run claimed under a limit has ended here (its outcome written, or its lease found lost): wake the other hosts.
    private void LimitedRunEnded(JobLease lease)
    {
        if (_limitedRuns.TryRemove(lease, out var queue))
        {
            NotifySoon(queue);
        }
    }

    private Task<T> Ended<T>(JobLease lease, Task<T> write) => _limitedRuns.ContainsKey(lease) ? EndedAsync(lease, write) : write;

    private async Task<T> EndedAsync<T>(JobLease lease, Task<T> write)
    {
        try
        {
            return await write.ConfigureAwait(false);
        }
        finally
        {
            LimitedRunEnded(lease);
        }
    }

    /// <inheritdoc />
    public override Task SetRateLimitAsync(JobRateLimit limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limit);
        ThrowIfDisposed();
        return OnceAsync("set a rate limit", async () =>
        {
            await using var command = Command(_limitSql.SetRate);
            command.Parameters.Add(P("scope", (short)limit.Scope, NpgsqlDbType.Smallint));
            command.Parameters.Add(P("name", limit.Name, NpgsqlDbType.Text));
            command.Parameters.Add(P("max_starts", limit.MaxStarts, NpgsqlDbType.Integer));
            command.Parameters.Add(P("window_ms", (long)limit.Window.TotalMilliseconds, NpgsqlDbType.Bigint));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (limit.Scope == RateLimitScope.Queue)
            {
                _limitedQueues.TryAdd(limit.Name, true);
            }

            return 0;
        });
    }

    /// <inheritdoc />
    public override Task<bool> RemoveRateLimitAsync(RateLimitScope scope, string name, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return OnceAsync("remove a rate limit", async () =>
        {
            await using var command = Command(_limitSql.RemoveRate);
            command.Parameters.Add(P("scope", (short)scope, NpgsqlDbType.Smallint));
            command.Parameters.Add(P("name", name, NpgsqlDbType.Text));
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long n && n > 0;
        });
    }

    /// <inheritdoc />
    public override Task<IReadOnlyList<JobRateLimit>> GetRateLimitsAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return OnceAsync<IReadOnlyList<JobRateLimit>>("read the rate limits", async () =>
        {
            await using var command = Command(_limitSql.Rates);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var limits = new List<JobRateLimit>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                limits.Add(new JobRateLimit((RateLimitScope)reader.GetInt16(0), reader.GetString(1), reader.GetInt32(2), TimeSpan.FromMilliseconds(reader.GetInt64(3))));
            }

            return limits;
        });
    }

    /// <inheritdoc />
    public override Task<IReadOnlyList<ConcurrencyKeyUsage>> GetConcurrencyKeysAsync(int limit, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return OnceAsync<IReadOnlyList<ConcurrencyKeyUsage>>("read the concurrency keys", async () =>
        {
            // Sequential scans off in its implicit transaction (Sql.NoSeqScan): analyzed while every job waited with a
            // key, the planner read the whole table for the few keyed jobs still in use.
            await using var batch = _dataSource.CreateBatch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.NoSeqScan));
            var command = new NpgsqlBatchCommand(_limitSql.KeysInUse);
            command.Parameters.Add(P("limit", limit, NpgsqlDbType.Integer));
            batch.BatchCommands.Add(command);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false); // The settings' row.
            var keys = new List<ConcurrencyKeyUsage>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(new ConcurrencyKeyUsage(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3)));
            }

            return keys;
        });
    }

    /// <inheritdoc />
    public override async Task<bool> MaintainAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("prune rate-limit starts", async () =>
        {
            await using var command = Command(_limitSql.PruneStarts);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }).ConfigureAwait(false);
    }
}
