using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// A jobs table shaped like a real queue's, and the statements a store would run on it: the SQL the PostgreSQL store
/// can start from (the next session reuses what is learnt here, not this code). States are Ladder.Jobs' JobState
/// values, so the SQL fragments below are derived from one list.
/// </summary>
internal static class QueueSchema
{
    // SQL fragments of Ladder.Jobs. JobState: Scheduled 0, Ready 1, Running 2, Succeeded 3, Failed 4 (retry due at run_at), Dead 5, Cancelled 6.
    public const string Ready = "1";
    public const string Running = "2";
    public const string Succeeded = "3";
    public const string Claimable = "0, 1, 4";
    public const string Finished = "3, 5, 6";

    public const string Channel = "ladder_jobs";

    public const string Create = $"""
        CREATE TABLE ladder_jobs (
            id bigserial PRIMARY KEY,
            queue text NOT NULL,
            kind text NOT NULL,
            payload jsonb NOT NULL,
            state smallint NOT NULL,
            priority integer NOT NULL DEFAULT 0,
            run_at timestamptz NOT NULL DEFAULT now(),
            attempts integer NOT NULL DEFAULT 0,
            max_attempts integer NOT NULL DEFAULT 5,
            rescues integer NOT NULL DEFAULT 0,
            unique_key text,
            lease_token uuid,
            lease_expires_at timestamptz,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz
        );
        -- The claim: the ready jobs of a queue in claim order (priority first, then run time, then id).
        CREATE INDEX ladder_jobs_claimable ON ladder_jobs (queue, priority DESC, run_at, id) WHERE state IN ({Claimable});
        -- The rescue: running jobs by lease expiry (only running rows are in it).
        CREATE INDEX ladder_jobs_running ON ladder_jobs (lease_expires_at) WHERE state = {Running};
        -- Retention: finished jobs by finish time, purged in batches.
        CREATE INDEX ladder_jobs_finished ON ladder_jobs (finished_at) WHERE state IN ({Finished});
        -- Unique keys: one job per (kind, key); the second enqueue returns the existing job (ON CONFLICT).
        CREATE UNIQUE INDEX ladder_jobs_unique ON ladder_jobs (kind, unique_key) WHERE unique_key IS NOT NULL;
        """;

    /// <summary>A batch of jobs in one statement (one round trip): the payloads as a jsonb array.</summary>
    public const string EnqueueBatch = $"""
        INSERT INTO ladder_jobs (queue, kind, payload, state)
        SELECT $1, $2, p, {Ready} FROM unnest($3::jsonb[]) AS t(p)
        """;

    /// <summary>One job, returning its id (the single-job transactions of the NOTIFY cost).</summary>
    public const string EnqueueOne = $"INSERT INTO ladder_jobs (queue, kind, payload, state) VALUES ($1, 'noop', $2::jsonb, {Ready}) RETURNING id";

    /// <summary>The wake-up: delivered to listeners when the enqueue's transaction commits; payload = queue name.</summary>
    public const string Notify = $"SELECT pg_notify('{Channel}', $1)";

    /// <summary>
    /// Claim and lease in one statement: the first N claimable jobs of a queue, skipping rows other claimers hold,
    /// leased by the database clock (now() + the lease), a fresh token per job.
    /// </summary>
    public const string Claim = $"""
        UPDATE ladder_jobs AS j
        SET state = {Running}, lease_token = gen_random_uuid(), lease_expires_at = now() + $2::interval,
            attempts = j.attempts + 1, started_at = now()
        FROM (
            SELECT id FROM ladder_jobs
            WHERE queue = $1 AND state IN ({Claimable}) AND run_at <= now()
            ORDER BY priority DESC, run_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ) AS picked
        WHERE j.id = picked.id
        RETURNING j.id, j.lease_token, j.kind, j.payload
        """;

    /// <summary>
    /// Completes a batch in one statement: a compare-and-set on (id, running, lease token) for every pair; a pair
    /// whose lease was lost (rescued, re-claimed) is not applied.
    /// </summary>
    public const string Complete = $"""
        UPDATE ladder_jobs AS j
        SET state = {Succeeded}, finished_at = now(), lease_token = NULL, lease_expires_at = NULL
        FROM unnest($1::bigint[], $2::uuid[]) AS c(id, token)
        WHERE j.id = c.id AND j.state = {Running} AND j.lease_token = c.token
        """;

    /// <summary>Retention: one batch of finished jobs (oldest first), deleted through the finished index.</summary>
    public const string PurgeBatch = $"""
        DELETE FROM ladder_jobs WHERE id IN (
            SELECT id FROM ladder_jobs WHERE state IN ({Finished}) AND finished_at <= now() - $1::interval
            ORDER BY finished_at LIMIT $2)
        """;

    public static async Task CreateAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(Create);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Enqueues <paramref name="jobs"/> no-op jobs in batches of <paramref name="batch"/>, one round trip each.</summary>
    public static async Task EnqueueAsync(NpgsqlDataSource dataSource, int jobs, int batch = 1000, int first = 0)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = EnqueueBatchCommand(connection);
        await command.PrepareAsync();
        for (var start = 0; start < jobs; start += batch)
        {
            command.Parameters[2].Value = Payloads(first + start, Math.Min(batch, jobs - start));
            await command.ExecuteNonQueryAsync();
        }
    }

    public static NpgsqlCommand EnqueueBatchCommand(NpgsqlConnection connection)
    {
        var command = new NpgsqlCommand(EnqueueBatch, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = "default", NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = "noop", NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        return command;
    }

    public static string[] Payloads(int first, int count)
    {
        var payloads = new string[count];
        for (var i = 0; i < count; i++)
        {
            payloads[i] = $"{{\"n\":{first + i}}}";
        }

        return payloads;
    }

    public static NpgsqlCommand ClaimCommand(NpgsqlConnection connection, int limit, string queue = "default")
    {
        var command = new NpgsqlCommand(Claim, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = queue, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = TimeSpan.FromSeconds(30), NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
        return command;
    }

    public static NpgsqlCommand CompleteCommand(NpgsqlConnection connection)
    {
        var command = new NpgsqlCommand(Complete, connection);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        return command;
    }

    /// <summary>Claims up to the command's limit; fills <paramref name="ids"/> and <paramref name="tokens"/>.</summary>
    public static async Task<int> ClaimAsync(NpgsqlCommand claim, List<long> ids, List<Guid> tokens)
    {
        ids.Clear();
        tokens.Clear();
        await using var reader = await claim.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
            tokens.Add(reader.GetGuid(1));
        }

        return ids.Count;
    }

    /// <summary>Completes the claimed batch; throws if any compare-and-set did not hold (nothing else touches these jobs).</summary>
    public static async Task CompleteAsync(NpgsqlCommand complete, List<long> ids, List<Guid> tokens)
    {
        complete.Parameters[0].Value = ids.ToArray();
        complete.Parameters[1].Value = tokens.ToArray();
        var applied = await complete.ExecuteNonQueryAsync();
        if (applied != ids.Count)
        {
            throw new InvalidOperationException($"completed {applied} of {ids.Count}: a lease was lost");
        }
    }
}
