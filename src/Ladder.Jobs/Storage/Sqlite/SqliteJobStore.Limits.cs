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

    // Per queue, the jobs per key the last stretch of the walk planned (0 when every key it read was full): the next
    // stretch reads about as many keys as it needs at that yield, not one key per job still wanted. KeyWalk materialises
    // and sorts its whole stretch: sized at one job a key, a claim of 68 jobs at limit 4 read 76 keys to use 17, and
    // sizing it by the yield cut the walk's time by about 60 % (docs/benchmarks/jobs.md, "Concurrency keys"). Writer
    // thread only.
    private readonly Dictionary<string, double> _walkYields = new(StringComparer.Ordinal);

    private sealed class ClaimLimits
    {
        public (int Room, long? ReopensAt)? QueueRate;
        public bool HasKeyed;

        // Whether jobs without a key are runnable at the claim's time; read only where ClaimLimited uses it (a queue
        // with keyed jobs waiting or a rate limit), and ClaimLimited reads plain candidates only when it is true.
        public bool HasPlain;
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

        using (var reader = session.Command(LimitSql.HasKeyed, queue, now, limits.QueueRate is null ? 0 : 1).ExecuteReader())
        {
            reader.Read();
            limits.HasKeyed = reader.GetInt64(0) != 0;
            limits.HasPlain = reader.GetInt64(1) != 0;
        }

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
        if (limits.HasPlain)
        {
            using var reader = session.Command(LimitSql.PlainCandidates, queue, now, target).ExecuteReader();
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
    // has visited target + ExtraKeysPerClaim keys (then limits.More: the next claim goes on at once). A stretch of keys
    // is read in one statement (KeyWalk: each key's limit, running jobs and rate room) and their candidates in another
    // (KeyCandidates), not three statements per key.
    private void VisitKeys(WriterSession session, List<Candidate> candidates, string queue, long now, int target, ClaimLimits limits)
    {
        var start = _keyCursors.GetValueOrDefault(queue);
        var wrapped = start is null;
        var last = start;
        var keyed = 0;
        var visited = 0;

        // The walk ends where it began: this claim's start, or the start of the fruitless run it continues.
        var fruitless = _fruitlessWalks.TryGetValue(queue, out var run) ? run : ((string? Start, bool Wrapped)?)null;
        var end = fruitless is { } f ? f.Start : start;
        // A run that began at the first key (no cursor yet) has visited every key when it reaches the last.
        var passedLast = wrapped || fruitless is { Wrapped: true } || fruitless is { Start: null };
        var wants = new List<(string Key, int Want, long Running, bool Rated)>();
        var ended = false;
        while (keyed < target && !ended)
        {
            if (visited >= target + ExtraKeysPerClaim)
            {
                limits.More = true;
                break;
            }

            // The keys this stretch may visit: no more than the claim's budget, nor than it needs for the jobs it still
            // wants at the last stretch's yield (one job a key until a stretch has been read; at most eight keys a job
            // when the keys were full), plus a few keys of slack. A stretch that falls short is followed by the next.
            var yieldPerKey = Math.Max(_walkYields.GetValueOrDefault(queue, 1.0), MinYieldPerKey);
            var stretch = (int)Math.Min(target + ExtraKeysPerClaim - visited, Math.Ceiling(Math.Max(target - keyed, 1) / yieldPerKey) + KeysPerStretchBeyondWant);
            var read = 0;
            var visitedBefore = visited;
            var planned = keyed;
            wants.Clear();
            using (var reader = session.Command(LimitSql.KeyWalk, queue, last ?? "", now, stretch).ExecuteReader())
            {
                while (planned < target && reader.Read())
                {
                    read++;
                    var key = reader.GetString(0);
                    if (passedLast && end is not null && string.CompareOrdinal(key, end) > 0)
                    {
                        ended = true; // Every key visited once.
                        break;
                    }

                    visited++;
                    last = key;
                    var headLimit = reader.GetInt32(1);
                    var running = reader.GetInt64(2);
                    int? room = reader.IsDBNull(3) ? null : reader.GetInt32(3);
                    if (room <= 0 && Sql.NullableInt64(reader, 4) is { } reopens && (limits.KeyReopensAt is null || reopens < limits.KeyReopensAt))
                    {
                        limits.KeyReopensAt = reopens;
                    }

                    var want = Math.Min(target - planned, Math.Min(headLimit - (int)Math.Min(running, int.MaxValue), room ?? int.MaxValue));
                    if (want <= 0)
                    {
                        limits.HeldBack++;
                        continue;
                    }

                    wants.Add((key, want, running, room is not null));
                    planned += want;
                }
            }

            // The yield of the keys this stretch visited (a key read past the walk's end was not visited).
            if (visited > visitedBefore)
            {
                _walkYields[queue] = (double)(planned - keyed) / (visited - visitedBefore);
            }

            if (!ended && planned < target && read < stretch)
            {
                // The walk ran past the last key: once from the first key, then every key has been visited.
                if (passedLast)
                {
                    ended = true;
                }
                else
                {
                    wrapped = true;
                    passedLast = true;
                    last = null;
                }
            }

            keyed += AddKeyCandidates(session, candidates, queue, now, wants, limits);
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

    // How many keys past what the claim still wants (at the last stretch's yield) a stretch of the walk reads: a key
    // or two with no room is passed over in the same statement, not one more round trip each.
    private const int KeysPerStretchBeyondWant = 2;

    // The lowest yield a stretch is sized by: after a stretch of full keys, the next reads eight keys per job wanted
    // (within the claim's budget) rather than all of the budget at once.
    private const double MinYieldPerKey = 0.125;

    // The candidates of the keys the walk chose, each key's in claim order up to what it wants: within a key, the first
    // job that may not start (its own limit is lower and reached) ends the key's candidates. Returns how many it added.
    private static int AddKeyCandidates(WriterSession session, List<Candidate> candidates, string queue, long now, List<(string Key, int Want, long Running, bool Rated)> wants, ClaimLimits limits)
    {
        if (wants.Count == 0)
        {
            return 0;
        }

        var keys = new StringBuilder("[");
        var most = 0;
        var byKey = new Dictionary<string, List<(long Id, int Priority, long RunAt, int Limit)>>(wants.Count, StringComparer.Ordinal);
        foreach (var (key, want, _, _) in wants)
        {
            keys.Append(keys.Length == 1 ? "" : ",").Append(System.Text.Json.JsonSerializer.Serialize(key));
            most = Math.Max(most, want);
            byKey[key] = [];
        }

        using (var reader = session.Command(LimitSql.KeyCandidates, queue, now, most, keys.Append(']').ToString()).ExecuteReader())
        {
            while (reader.Read())
            {
                byKey[reader.GetString(0)].Add((reader.GetInt64(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt32(4)));
            }
        }

        var added = 0;
        foreach (var (key, want, running, rated) in wants)
        {
            var ofKey = byKey[key];
            ofKey.Sort(static (a, b) => a.Priority != b.Priority ? b.Priority.CompareTo(a.Priority) : a.RunAt != b.RunAt ? a.RunAt.CompareTo(b.RunAt) : a.Id.CompareTo(b.Id));
            var rank = 0;
            foreach (var job in ofKey)
            {
                if (rank >= want)
                {
                    break;
                }

                if (running + rank + 1 > job.Limit)
                {
                    limits.HeldBack++;
                    break;
                }

                rank++;
                candidates.Add(new Candidate(job.Id, job.Priority, job.RunAt, key, rated));
            }

            added += rank;
        }

        return added;
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
