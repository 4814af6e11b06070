using System.Globalization;
using System.Text;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>
/// Concurrency keys and rate limits, enforced by the claim. Race-free by construction: every claim of the file runs in a
/// write transaction of the one writer of its process, and SQLite admits one write transaction at a time across
/// processes (BEGIN IMMEDIATE), so the running jobs and starts a claim counts cannot change before it commits.
/// </summary>
internal sealed partial class SqliteJobStore
{
    private sealed class ClaimLimits
    {
        public (int Room, long? ReopensAt)? QueueRate;
        public List<(string Key, long Running, int? Room)> Keys = [];
        public long? KeyReopensAt;
        public int HeldBack;
    }

    private static ClaimLimits ReadLimits(WriterSession session, string queue, long now)
    {
        var limits = new ClaimLimits();
        using (var reader = session.Command(LimitSql.QueueRate, queue, now).ExecuteReader())
        {
            if (reader.Read())
            {
                limits.QueueRate = (reader.GetInt32(0), Sql.NullableInt64(reader, 1));
            }
        }

        using (var reader = session.Command(LimitSql.Keys, queue, now).ExecuteReader())
        {
            while (reader.Read())
            {
                int? room = reader.IsDBNull(2) ? null : reader.GetInt32(2);
                limits.Keys.Add((reader.GetString(0), reader.GetInt64(1), room));
                if (room <= 0 && Sql.NullableInt64(reader, 3) is { } reopens && (limits.KeyReopensAt is null || reopens < limits.KeyReopensAt))
                {
                    limits.KeyReopensAt = reopens;
                }
            }
        }

        return limits;
    }

    // The claim of a queue with keyed jobs waiting or a rate limit: candidates of every key that may start more (a
    // key's own jobs in claim order, up to its free slots and its rate room) and jobs without a key, merged in claim
    // order, up to the free handler slots and the queue's rate room; all started at once.
    private static int ClaimLimited(WriterSession session, List<ClaimedJob> jobs, string queue, long token, long now, long expires, int slots, ClaimLimits limits)
    {
        var candidates = new List<(long Id, int Priority, long RunAt, string? Key)>();
        using (var reader = session.Command(LimitSql.PlainCandidates, queue, now, slots).ExecuteReader())
        {
            while (reader.Read())
            {
                candidates.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), null));
            }
        }

        foreach (var (key, running, room) in limits.Keys)
        {
            if (room is <= 0)
            {
                limits.HeldBack++;
                continue;
            }

            var rank = 0;
            using var reader = session.Command(LimitSql.KeyCandidates, queue, key, now, Math.Min(slots, room ?? slots)).ExecuteReader();
            while (reader.Read())
            {
                // Within a key, claim order holds: the first job that may not start (its key has its limit running)
                // ends the key's candidates.
                if (running + rank + 1 > reader.GetInt32(3))
                {
                    limits.HeldBack++;
                    break;
                }

                rank++;
                candidates.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), key));
            }
        }

        candidates.Sort(static (a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt) : a.Id.CompareTo(b.Id));
        var take = Math.Min(slots, candidates.Count);
        if (limits.QueueRate is { } rate)
        {
            var room = Math.Max(0, rate.Room);
            if (take > room)
            {
                limits.HeldBack += Math.Min(candidates.Count, slots) - room;
                take = room;
            }
        }

        if (take == 0)
        {
            return 0;
        }

        var ids = new StringBuilder("[");
        for (var i = 0; i < take; i++)
        {
            ids.Append(i == 0 ? "" : ",").Append(candidates[i].Id.ToString(CultureInfo.InvariantCulture));
        }

        var first = jobs.Count;
        var startedAt = FromMs(now);
        using (var reader = session.Command(LimitSql.ClaimIds, token, expires, now, ids.Append(']').ToString()).ExecuteReader())
        {
            while (reader.Read())
            {
                jobs.Add(new ClaimedJob(
                    new JobLease(reader.GetInt64(0), token), queue, reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                    reader.GetInt32(5), Sql.Timeout(Sql.NullableInt64(reader, 6)), FromMs(reader.GetInt64(7)),
                    FromMs(reader.GetInt64(8)), startedAt, Sql.NullableString(reader, 9), reader.GetInt32(10), HandlerStarted: true, reader.GetInt32(11),
                    Limited: true));
            }
        }

        jobs.Sort(first, jobs.Count - first, ClaimOrder.Instance);

        // The starts the rate limits count: one row per start and limit, in this same transaction.
        for (var i = 0; i < take; i++)
        {
            if (limits.QueueRate is not null)
            {
                session.Execute(LimitSql.RecordStart, (int)RateLimitScope.Queue, queue, now);
            }

            if (candidates[i].Key is { } key && limits.Keys.Find(k => k.Key == key).Room is not null)
            {
                session.Execute(LimitSql.RecordStart, (int)RateLimitScope.ConcurrencyKey, key, now);
            }
        }

        return jobs.Count - first;
    }

    public override Task SetRateLimitAsync(JobRateLimit limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limit);
        return OpenWriter.Run(
            session => session.Execute(LimitSql.SetRate, (int)limit.Scope, limit.Name, limit.MaxStarts, (long)limit.Window.TotalMilliseconds),
            durable: true, singleStatement: true).WaitAsync(cancellationToken);
    }

    public override Task<bool> RemoveRateLimitAsync(RateLimitScope scope, string name, CancellationToken cancellationToken) =>
        OpenWriter.Run(
            session =>
            {
                session.Execute(LimitSql.RemoveStarts, (int)scope, name);
                return session.Execute(LimitSql.RemoveRate, (int)scope, name) == 1;
            },
            durable: true).WaitAsync(cancellationToken);

    public override async Task<IReadOnlyList<JobRateLimit>> GetRateLimitsAsync(CancellationToken cancellationToken)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = LimitSql.Rates;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var limits = new List<JobRateLimit>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            limits.Add(new JobRateLimit((RateLimitScope)reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), TimeSpan.FromMilliseconds(reader.GetInt64(3))));
        }

        return limits;
    }

    public override async Task<IReadOnlyList<ConcurrencyKeyUsage>> GetConcurrencyKeysAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = LimitSql.KeysInUse;
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<ConcurrencyKeyUsage>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new ConcurrencyKeyUsage(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return keys;
    }

    // The store's upkeep: starts that left their window.
    private Task<int> PruneRateStartsAsync() =>
        OpenWriter.Run(session => session.Execute(LimitSql.PruneStarts, Now()), durable: false, singleStatement: true);
}
