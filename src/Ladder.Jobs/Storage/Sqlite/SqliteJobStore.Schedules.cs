using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>Schedule rows: writes through the writer (a fire and its job in one savepoint of one commit), reads on their own connections.</summary>
internal sealed partial class SqliteJobStore
{
    private const string ScheduleColumns = "name, spec, from_code, paused, orphaned, next_tick, last_tick, last_job_id, version";

    // In SET, every right-hand side reads the row as it was: the spec comparison sees the old spec.
    private const string UpsertSchedule =
        "INSERT INTO ladder_schedules(name, spec, from_code, next_tick) VALUES(@p0, @p1, @p2, @p3) " +
        "ON CONFLICT(name) DO UPDATE SET next_tick = CASE WHEN spec = excluded.spec THEN next_tick ELSE excluded.next_tick END, " +
        "version = CASE WHEN spec = excluded.spec THEN version ELSE version + 1 END, spec = excluded.spec, from_code = excluded.from_code, orphaned = 0 " +
        "RETURNING " + ScheduleColumns + ";";

    // The first fence: only the process whose read still matches (name, version, next tick), on an active row, moves it.
    private const string AdvanceSchedule =
        "UPDATE ladder_schedules SET next_tick = @p3 WHERE name = @p0 AND version = @p1 AND next_tick = @p2 AND paused = 0 AND orphaned = 0;";

    // A resume's fire (ScheduleFire.Resume): the same fence on a paused row, which it unpauses in the same write.
    private const string ResumeSchedule =
        "UPDATE ladder_schedules SET next_tick = @p3, paused = 0 WHERE name = @p0 AND version = @p1 AND next_tick = @p2 AND paused = 1 AND orphaned = 0;";

    private const string RecordScheduleJob = "UPDATE ladder_schedules SET last_tick = @p1, last_job_id = @p2 WHERE name = @p0;";

    public override Task<ScheduleRow> UpsertScheduleAsync(ScheduleUpsert upsert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upsert);
        return OpenWriter.Run(
            session =>
            {
                using var reader = session.Command(UpsertSchedule, upsert.Name, upsert.Spec, upsert.DeclaredInCode ? 1 : 0, Ms(upsert.NextTick)).ExecuteReader();
                reader.Read();
                return ReadSchedule(reader);
            },
            durable: true,
            singleStatement: true).WaitAsync(cancellationToken);
    }

    public override async Task<IReadOnlyList<ScheduleRow>> GetSchedulesAsync(CancellationToken cancellationToken)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ScheduleColumns} FROM ladder_schedules ORDER BY name;";
        return await ReadSchedulesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        await using var connection = OpenReader();
        // One read transaction: the due rows and the next tick from one snapshot.
        await using var transaction = connection.BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"SELECT {ScheduleColumns} FROM ladder_schedules WHERE paused = 0 AND orphaned = 0 AND next_tick IS NOT NULL AND next_tick <= $now ORDER BY next_tick LIMIT $limit;";
        command.Parameters.AddWithValue("$now", at);
        command.Parameters.AddWithValue("$limit", Math.Max(limit, 1));
        var due = await ReadSchedulesAsync(command, cancellationToken).ConfigureAwait(false);
        await using var next = connection.CreateCommand();
        next.CommandText = "SELECT min(next_tick) FROM ladder_schedules WHERE paused = 0 AND orphaned = 0 AND next_tick IS NOT NULL AND next_tick > $now;";
        next.Parameters.AddWithValue("$now", at);
        var nextTick = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new DueSchedules(due, nextTick);
    }

    public override Task<ScheduleFireResult> FireScheduleAsync(ScheduleFire fire)
    {
        ArgumentNullException.ThrowIfNull(fire);
        var job = fire.Job;
        return OpenWriter.Run(
            session =>
            {
                if (session.Execute(fire.Resume ? ResumeSchedule : AdvanceSchedule, fire.Name, fire.Version, Ms(fire.Tick), Ms(fire.NextTick)) != 1)
                {
                    return new ScheduleFireResult(false, null);
                }

                if (job is null)
                {
                    return new ScheduleFireResult(true, null);
                }

                // The second fence: the tick's unique key. A job already holding it (the row was removed and set
                // again, say) is returned, not inserted again.
                var result = Insert((sql, values) => session.Command(sql, values), job, Now());
                session.Execute(RecordScheduleJob, fire.Name, Ms(fire.JobTick ?? fire.Tick), result.JobId);
                return new ScheduleFireResult(true, result);
            },
            durable: true);
    }

    public override Task<bool> SetSchedulePausedAsync(string name, bool paused, CancellationToken cancellationToken) =>
        OpenWriter.Run(session => session.Execute("UPDATE ladder_schedules SET paused = @p1 WHERE name = @p0;", name, paused ? 1 : 0) == 1, durable: true, singleStatement: true)
            .WaitAsync(cancellationToken);

    public override Task<bool> MarkScheduleOrphanedAsync(string name, long version, CancellationToken cancellationToken) =>
        OpenWriter.Run(
            session => session.Execute("UPDATE ladder_schedules SET orphaned = 1 WHERE name = @p0 AND version = @p1 AND from_code = 1 AND orphaned = 0;", name, version) == 1,
            durable: true,
            singleStatement: true).WaitAsync(cancellationToken);

    public override Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken) =>
        OpenWriter.Run(session => session.Execute("DELETE FROM ladder_schedules WHERE name = @p0;", name) == 1, durable: true, singleStatement: true)
            .WaitAsync(cancellationToken);

    private static async Task<IReadOnlyList<ScheduleRow>> ReadSchedulesAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<ScheduleRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(ReadSchedule(reader));
        }

        return rows;
    }

    private static ScheduleRow ReadSchedule(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3) != 0, reader.GetInt64(4) != 0,
        Time(Sql.NullableInt64(reader, 5)), Time(Sql.NullableInt64(reader, 6)), Sql.NullableInt64(reader, 7), reader.GetInt64(8));

    private static long? Ms(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    private static DateTimeOffset? Time(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
