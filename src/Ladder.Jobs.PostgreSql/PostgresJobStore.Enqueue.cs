using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>Enqueue: a batch in one statement and one round trip, unique keys by the partial unique index, the NOTIFY in the same transaction.</summary>
public sealed partial class PostgresJobStore
{
    /// <inheritdoc />
    public override async Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ThrowIfDisposed();
        if (jobs.Count == 0)
        {
            return [];
        }

        var (notifyNow, deferred) = PlanNotifications(jobs);

        // Not retried: a lost answer may hide a commit, and a second insert would enqueue the jobs twice.
        var results = await OnceAsync("enqueue jobs", async () =>
        {
            // One batch is one implicit transaction: the jobs and their NOTIFY commit together, and the NOTIFY is
            // delivered only by that commit (a listener woken by it finds the jobs).
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(InsertCommand(jobs));
            if (notifyNow.Count > 0)
            {
                batch.BatchCommands.Add(NotifyCommand(notifyNow));
            }

            await PrepareAsync(batch, cancellationToken).ConfigureAwait(false);

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await ReadInsertedAsync(reader, jobs.Count, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);

        foreach (var queue in deferred)
        {
            NotifySoon(queue);
        }

        if (results.Any(static r => !r.Inserted))
        {
            await OnceAsync("find the jobs holding unique keys", async () =>
            {
                await ResolveExistingAsync(jobs, results, null, null, cancellationToken).ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
        }

        return [.. results];
    }

    private NpgsqlBatchCommand InsertCommand(IReadOnlyList<NewJob> jobs)
    {
        var n = jobs.Count;
        var queue = new string[n];
        var kind = new string[n];
        var payload = new string[n];
        var priority = new int[n];
        var hasRunAt = new bool[n];
        var runAt = new DateTimeOffset[n];
        var delay = new TimeSpan[n];
        var maxAttempts = new int[n];
        var timeoutMs = new long?[n];
        var uniqueKey = new string?[n];
        var traceParent = new string?[n];
        var concurrencyKey = new string?[n];
        var concurrencyLimit = new int[n];
        for (var i = 0; i < n; i++)
        {
            var job = jobs[i];
            queue[i] = job.Queue;
            kind[i] = job.Kind;
            payload[i] = job.PayloadJson;
            priority[i] = job.Priority;
            hasRunAt[i] = job.RunAt is not null;
            runAt[i] = (job.RunAt ?? DateTimeOffset.UnixEpoch).ToUniversalTime();
            delay[i] = job.Delay;
            maxAttempts[i] = job.MaxAttempts;
            timeoutMs[i] = job.Timeout is { } t && t != Timeout.InfiniteTimeSpan ? (long)t.TotalMilliseconds : null;
            uniqueKey[i] = job.UniqueKey;
            traceParent[i] = job.TraceParent;
            concurrencyKey[i] = job.ConcurrencyKey;
            concurrencyLimit[i] = job.ConcurrencyKey is null ? 0 : Math.Max(1, job.ConcurrencyLimit);
        }

        var command = new NpgsqlBatchCommand(_sql.Insert);
        AddNow(command.Parameters);
        command.Parameters.Add(P("queue", queue, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("kind", kind, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("payload", payload, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("priority", priority, NpgsqlDbType.Array | NpgsqlDbType.Integer));
        command.Parameters.Add(P("has_run_at", hasRunAt, NpgsqlDbType.Array | NpgsqlDbType.Boolean));
        command.Parameters.Add(P("run_at", runAt, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz));
        command.Parameters.Add(P("delay", delay, NpgsqlDbType.Array | NpgsqlDbType.Interval));
        command.Parameters.Add(P("max_attempts", maxAttempts, NpgsqlDbType.Array | NpgsqlDbType.Integer));
        command.Parameters.Add(P("timeout_ms", timeoutMs, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
        command.Parameters.Add(P("unique_key", uniqueKey, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("trace_parent", traceParent, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("concurrency_key", concurrencyKey, NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("concurrency_limit", concurrencyLimit, NpgsqlDbType.Array | NpgsqlDbType.Integer));
        return command;
    }

    private static async Task<EnqueueResult[]> ReadInsertedAsync(NpgsqlDataReader reader, int count, CancellationToken cancellationToken)
    {
        var results = new EnqueueResult[count];
        for (var i = 0; i < count; i++)
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"The insert returned {i} rows for {count} jobs.");
            }

            // A job not inserted carries its would-be id until ResolveExistingAsync finds the job holding its key.
            results[i] = new EnqueueResult(reader.GetInt64(0), reader.GetBoolean(1));
        }

        return results;
    }

    /// <summary>
    /// For each job whose unique key was taken, the id of the job holding it: an earlier job of the same batch, or one
    /// read in a statement of its own (a new snapshot, so a job another host committed meanwhile is seen).
    /// </summary>
    private async Task ResolveExistingAsync(IReadOnlyList<NewJob> jobs, EnqueueResult[] results, NpgsqlConnection? connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var inBatch = new Dictionary<(string Kind, string Key), long>();
        var missing = new List<int>();
        for (var i = 0; i < jobs.Count; i++)
        {
            var key = (jobs[i].Kind, jobs[i].UniqueKey ?? "");
            if (results[i].Inserted)
            {
                if (jobs[i].UniqueKey is not null)
                {
                    inBatch.TryAdd(key, results[i].JobId);
                }
            }
            else if (inBatch.TryGetValue(key, out var id))
            {
                results[i] = new EnqueueResult(id, Inserted: false);
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        await using var command = connection is null ? _dataSource.CreateCommand(_sql.FindUnique) : new NpgsqlCommand(_sql.FindUnique, connection, transaction);
        command.Parameters.Add(P("kind", missing.ConvertAll(i => jobs[i].Kind).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        command.Parameters.Add(P("unique_key", missing.ConvertAll(i => jobs[i].UniqueKey!).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        var found = new Dictionary<(string, string), long>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                found[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }

        foreach (var i in missing)
        {
            if (!found.TryGetValue((jobs[i].Kind, jobs[i].UniqueKey!), out var id))
            {
                // Purged between the insert and this read, or invisible to the caller's snapshot (repeatable read).
                throw new JobStoreException(Location, $"The unique key '{jobs[i].UniqueKey}' of kind '{jobs[i].Kind}' is taken, but the job holding it could not be read (deleted meanwhile, or not visible to this transaction's snapshot). Enqueue it again.");
            }

            results[i] = new EnqueueResult(id, Inserted: false);
        }
    }

    /// <summary>
    /// Enlists the caller's open transaction: jobs inserted through the enlistment commit or vanish with the caller's
    /// writes, and their wake-up (NOTIFY) is delivered only by the commit. Pass it to <c>JobQueue.Enlist</c>, or use
    /// the <c>queue.Enlist(transaction)</c> extension.
    /// </summary>
    /// <param name="transaction">An open transaction on this store's database.</param>
    /// <returns>The enlistment.</returns>
    /// <exception cref="ArgumentException">The transaction is finished, or belongs to another database.</exception>
    public JobEnlistment Enlist(NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfDisposed();
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already committed or rolled back.", nameof(transaction));
        var host = new NpgsqlConnectionStringBuilder(connection.ConnectionString).Host ?? "localhost";
        if (!string.Equals(connection.Database, Database, StringComparison.Ordinal) || connection.Port != Port || !string.Equals(host, Host, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The transaction is on {host}:{connection.Port}/{connection.Database}, the job store on {Location}: a job enqueued there would not reach this queue.", nameof(transaction));
        }

        return new PostgresEnlistment(this, transaction);
    }

    /// <summary>Jobs inserted in the caller's own transaction.</summary>
    private sealed class PostgresEnlistment(PostgresJobStore store, NpgsqlTransaction transaction) : JobEnlistment
    {
        private readonly HashSet<string> _deferred = new(StringComparer.Ordinal);

        public override EnqueueResult Insert(NewJob job) => InsertAsync(job, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<EnqueueResult> InsertAsync(NewJob job, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(job);
            var connection = transaction.Connection ?? throw new InvalidOperationException("The enlisted transaction is already committed or rolled back.");
            var (now, deferred) = store.PlanNotifications([job]);
            _deferred.UnionWith(deferred);
            EnqueueResult[] results;
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(store.InsertCommand([job]));
                if (now.Count > 0)
                {
                    batch.BatchCommands.Add(store.NotifyCommand(now));
                }

                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                results = await ReadInsertedAsync(reader, 1, cancellationToken).ConfigureAwait(false);
            }

            if (!results[0].Inserted)
            {
                await store.ResolveExistingAsync([job], results, connection, transaction, cancellationToken).ConfigureAwait(false);
            }

            return results[0];
        }

        public override void Commit()
        {
            transaction.Commit();
            Committed();
        }

        public override async Task CommitAsync(CancellationToken cancellationToken)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            Committed();
        }

        // The wake-ups the debounce held back go out after the commit; a rolled-back transaction sends none.
        private void Committed()
        {
            foreach (var queue in _deferred)
            {
                store.NotifySoon(queue);
            }
        }
    }
}
