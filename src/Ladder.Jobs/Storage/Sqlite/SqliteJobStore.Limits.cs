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
    // The most keys one claim visits beyond what it takes: a claim's cost stays bounded however many keys wait, and
    // the next claim goes on from where this one stopped (ClaimBatch.NextRunIn zero), so no key waits long.
    private const int ExtraKeysPerClaim = 32;

    // Per queue, the last key a claim visited: the next claim starts after it (round robin over the keys). Read and
    // written on the writer thread only.
    private readonly Dictionary<string, string> _keyCursors = new(StringComparer.Ordinal);

    // Per queue, where a run of fruitless claims began (claims that stopped at their most keys with no keyed job
    // startable) and whether that run has wrapped past the last key: once it comes back to where it began, every key
    // has been visited with none startable, and the claim says so (More false) instead of "claim again at once", which
    // made a processor with free slots re-claim every millisecond while more keys than a claim visits were all full.
    // Writer thread only.
    private readonly Dictionary<string, (string? Start, bool Wrapped)> _fruitlessWalks = new(StringComparer.Ordinal);

    private sealed class ClaimLimits
    {
        public (int Room, long? ReopensAt)? QueueRate;
        public bool HasKeyed;
        public long? KeyReopensAt;
        public int HeldBack;
        public bool More;
    }

    private readonly record struct Candidate(long Id, int Priority, long RunAt, string? Key, bool KeyRated);

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

        limits.HasKeyed = session.Command(LimitSql.HasKeyed, queue).ExecuteScalar() is long has && has != 0;
        return limits;
    }

    // The claim of a queue with keyed jobs waiting or a rate limit. Candidates: the first jobs without a key, and, key
    // by key round robin from where the last claim stopped, each key's first jobs in claim order up to its free slots
    // and rate room; merged in claim order, the first atOnce start at once, the rest (up to target) are claimed ahead,
    // except jobs of a key with a rate limit (their claim is their start). A rate-limited queue takes no more than its room.
    private void ClaimLimited(WriterSession session, List<ClaimedJob> jobs, string queue, long token, long now, long expires, int atOnce, int target, ClaimLimits limits)
    {
        if (target <= 0)
        {
            return;
        }

        var candidates = new List<Candidate>();
        using (var reader = session.Command(LimitSql.PlainCandidates, queue, now, target).ExecuteReader())
        {
            while (reader.Read())
            {
                candidates.Add(new Candidate(reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), null, false));
            }
        }

        if (limits.HasKeyed)
        {
            VisitKeys(session, candidates, queue, now, target, limits);
        }

        candidates.Sort(static (a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt) : a.Id.CompareTo(b.Id));
        var take = target;
        if (limits.QueueRate is { } rate && take > Math.Max(0, rate.Room))
        {
            limits.HeldBack += Math.Min(candidates.Count, take) - Math.Max(0, rate.Room);
            take = Math.Max(0, rate.Room);
        }

        var started = new List<Candidate>();
        var ahead = new List<Candidate>();
        foreach (var candidate in candidates)
        {
            if (started.Count + ahead.Count >= take)
            {
                break;
            }

            if (started.Count < atOnce)
            {
                started.Add(candidate);
            }
            else if (!candidate.KeyRated)
            {
                ahead.Add(candidate);
            }
        }

        Lease(session, jobs, queue, token, now, expires, started, handlerStarted: true);
        Lease(session, jobs, queue, token, now, expires, ahead, handlerStarted: false);

        // The starts the rate limits count: one row per claim and limit, in this same transaction.
        foreach (var candidate in started.Concat(ahead))
        {
            if (limits.QueueRate is not null)
            {
                session.Execute(LimitSql.RecordStart, (int)RateLimitScope.Queue, queue, now);
            }

            if (candidate.KeyRated)
            {
                session.Execute(LimitSql.RecordStart, (int)RateLimitScope.ConcurrencyKey, candidate.Key, now);
            }
        }
    }

    // Walks the keys with jobs waiting, from the queue's cursor, wrapping once, until it has target keyed candidates or
    // has visited target + ExtraKeysPerClaim keys (then limits.More: the next claim goes on at once).
    private void VisitKeys(WriterSession session, List<Candidate> candidates, string queue, long now, int target, ClaimLimits limits)
    {
        var start = _keyCursors.GetValueOrDefault(queue);
        var wrapped = start is null;
        var last = start;
        var keyed = 0;

        // The walk ends where it began: this claim's start, or the start of the fruitless run it continues.
        var fruitless = _fruitlessWalks.TryGetValue(queue, out var run) ? run : ((string? Start, bool Wrapped)?)null;
        var end = fruitless is { } f ? f.Start : start;
        // A run that began at the first key (no cursor yet) has visited every key when it reaches the last.
        var passedLast = wrapped || fruitless is { Wrapped: true } || fruitless is { Start: null };
        for (var visited = 0; keyed < target; visited++)
        {
            if (visited >= target + ExtraKeysPerClaim)
            {
                limits.More = true;
                break;
            }

            string? key = null;
            var headLimit = 0;
            using (var reader = (last is null ? session.Command(LimitSql.FirstKey, queue) : session.Command(LimitSql.NextKey, queue, last)).ExecuteReader())
            {
                if (reader.Read())
                {
                    key = reader.GetString(0);
                    headLimit = reader.GetInt32(1);
                }
            }

            if (key is null && !passedLast)
            {
                wrapped = true;
                passedLast = true;
                last = null;
                continue;
            }

            if (key is null || (passedLast && end is not null && string.CompareOrdinal(key, end) > 0))
            {
                break; // Every key visited once.
            }

            last = key;
            long running;
            int? room;
            using (var reader = session.Command(LimitSql.KeyState, key, now).ExecuteReader())
            {
                reader.Read();
                running = reader.GetInt64(0);
                room = reader.IsDBNull(1) ? null : reader.GetInt32(1);
                if (room <= 0 && Sql.NullableInt64(reader, 2) is { } reopens && (limits.KeyReopensAt is null || reopens < limits.KeyReopensAt))
                {
                    limits.KeyReopensAt = reopens;
                }
            }

            var want = Math.Min(target - keyed, Math.Min(headLimit - (int)Math.Min(running, int.MaxValue), room ?? int.MaxValue));
            if (want <= 0)
            {
                limits.HeldBack++;
                continue;
            }

            var rank = 0;
            using var candidatesOfKey = session.Command(LimitSql.KeyCandidates, queue, key, now, want).ExecuteReader();
            while (candidatesOfKey.Read())
            {
                // Within a key, claim order holds: the first job that may not start (its key has its own limit
                // running) ends the key's candidates.
                if (running + rank + 1 > candidatesOfKey.GetInt32(3))
                {
                    limits.HeldBack++;
                    break;
                }

                rank++;
                candidates.Add(new Candidate(candidatesOfKey.GetInt64(0), candidatesOfKey.GetInt32(1), candidatesOfKey.GetInt64(2), key, room is not null));
            }

            keyed += rank;
        }

        if (last is not null)
        {
            _keyCursors[queue] = last;
        }

        if (limits.More && keyed == 0)
        {
            _fruitlessWalks[queue] = fruitless is { } going ? (going.Start, going.Wrapped || wrapped) : (start, wrapped && start is not null);
        }
        else
        {
            _fruitlessWalks.Remove(queue);
        }
    }

    private static void Lease(WriterSession session, List<ClaimedJob> jobs, string queue, long token, long now, long expires, List<Candidate> chosen, bool handlerStarted)
    {
        if (chosen.Count == 0)
        {
            return;
        }

        var ids = new StringBuilder("[");
        for (var i = 0; i < chosen.Count; i++)
        {
            ids.Append(i == 0 ? "" : ",").Append(chosen[i].Id.ToString(CultureInfo.InvariantCulture));
        }

        var first = jobs.Count;
        var startedAt = FromMs(now);
        using (var reader = session.Command(LimitSql.ClaimIds, token, expires, now, ids.Append(']').ToString(), handlerStarted ? 1 : 0).ExecuteReader())
        {
            while (reader.Read())
            {
                jobs.Add(new ClaimedJob(
                    new JobLease(reader.GetInt64(0), token), queue, reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4),
                    reader.GetInt32(5), Sql.Timeout(Sql.NullableInt64(reader, 6)), FromMs(reader.GetInt64(7)),
                    FromMs(reader.GetInt64(8)), startedAt, Sql.NullableString(reader, 9), reader.GetInt32(10), handlerStarted, reader.GetInt32(11),
                    Limited: true));
            }
        }

        jobs.Sort(first, jobs.Count - first, ClaimOrder.Instance);
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
