using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>Schedule rows: a fire is the row's compare-and-set and the tick's job in one transaction; never retried (a lost answer is found out by the next read).</summary>
public sealed partial class PostgresJobStore
{
    private const string ScheduleColumns = "name, spec, from_code, paused, orphaned, next_tick, last_tick, last_job_id, version";

    private string S(string sql) => sql.Replace("{s}", _options.Schema, StringComparison.Ordinal);

    /// <inheritdoc />
    public override async Task<ScheduleRow> UpsertScheduleAsync(ScheduleUpsert upsert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upsert);
        ThrowIfDisposed();
        return await OnceAsync("store a schedule", async () =>
        {
            // In SET, every right-hand side reads the row as it was: the spec comparison sees the old spec.
            await using var command = _dataSource.CreateCommand(S(
                "INSERT INTO {s}.schedules AS t(name, spec, from_code, next_tick) VALUES (@name, @spec, @from_code, @next) " +
                "ON CONFLICT (name) DO UPDATE SET next_tick = CASE WHEN t.spec = excluded.spec THEN t.next_tick ELSE excluded.next_tick END, " +
                "version = CASE WHEN t.spec = excluded.spec THEN t.version ELSE t.version + 1 END, spec = excluded.spec, from_code = excluded.from_code, orphaned = false " +
                "RETURNING " + ScheduleColumns));
            command.Parameters.Add(P("name", upsert.Name, NpgsqlDbType.Text));
            command.Parameters.Add(P("spec", upsert.Spec, NpgsqlDbType.Text));
            command.Parameters.Add(P("from_code", upsert.DeclaredInCode, NpgsqlDbType.Boolean));
            command.Parameters.Add(P("next", upsert.NextTick?.ToUniversalTime(), NpgsqlDbType.TimestampTz));
            var rows = await ReadSchedulesAsync(command, cancellationToken).ConfigureAwait(false);
            return rows[0];
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<ScheduleRow>> GetSchedulesAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("list schedules", async () =>
        {
            await using var command = _dataSource.CreateCommand(S($"SELECT {ScheduleColumns} FROM {{s}}.schedules ORDER BY name COLLATE \"C\""));
            return await ReadSchedulesAsync(command, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("read due schedules", async () =>
        {
            // One statement, one snapshot: the due rows, then a last row carrying only the next tick after them.
            await using var command = _dataSource.CreateCommand(S(
                $"(SELECT {ScheduleColumns}, false AS tail FROM {{s}}.schedules WHERE NOT paused AND NOT orphaned AND next_tick IS NOT NULL AND next_tick <= @now " +
                "ORDER BY next_tick LIMIT @limit) UNION ALL " +
                "SELECT NULL, NULL, NULL, NULL, NULL, min(next_tick), NULL, NULL, NULL, true FROM {s}.schedules WHERE NOT paused AND NOT orphaned AND next_tick > @now"));
            command.Parameters.Add(P("now", now.ToUniversalTime(), NpgsqlDbType.TimestampTz));
            command.Parameters.Add(P("limit", Math.Max(limit, 1), NpgsqlDbType.Integer));
            var due = new List<ScheduleRow>();
            DateTimeOffset? next = null;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetBoolean(9))
                {
                    next = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5);
                }
                else
                {
                    due.Add(ReadSchedule(reader));
                }
            }

            return new DueSchedules(due, next);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<ScheduleFireResult> FireScheduleAsync(ScheduleFire fire)
    {
        ArgumentNullException.ThrowIfNull(fire);
        ThrowIfDisposed();

        // Not retried: a lost answer may hide a commit. The next read of the scheduler finds the row moved on (then
        // the tick is done) or still due (then it fires again, and the compare-and-set decides once more).
        var result = await OnceAsync("fire a schedule", async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(_closing.Token).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(_closing.Token).ConfigureAwait(false);
            // A resume's fire (ScheduleFire.Resume) matches a paused row and unpauses it in the same write.
            await using (var advance = new NpgsqlCommand(
                fire.Resume
                    ? S("UPDATE {s}.schedules SET next_tick = @next, paused = false WHERE name = @name AND version = @version AND next_tick = @tick AND paused AND NOT orphaned")
                    : S("UPDATE {s}.schedules SET next_tick = @next WHERE name = @name AND version = @version AND next_tick = @tick AND NOT paused AND NOT orphaned"),
                connection, transaction))
            {
                advance.Parameters.Add(P("name", fire.Name, NpgsqlDbType.Text));
                advance.Parameters.Add(P("version", fire.Version, NpgsqlDbType.Bigint));
                advance.Parameters.Add(P("tick", fire.Tick.ToUniversalTime(), NpgsqlDbType.TimestampTz));
                advance.Parameters.Add(P("next", fire.NextTick?.ToUniversalTime(), NpgsqlDbType.TimestampTz));
                if (await advance.ExecuteNonQueryAsync(_closing.Token).ConfigureAwait(false) != 1)
                {
                    await transaction.RollbackAsync(_closing.Token).ConfigureAwait(false);
                    return new ScheduleFireResult(false, null);
                }
            }

            if (fire.Job is not { } job)
            {
                await transaction.CommitAsync(_closing.Token).ConfigureAwait(false);
                return new ScheduleFireResult(true, null);
            }

            // The second fence: the tick's unique key (a job already holding it is returned, not inserted again).
            EnqueueResult[] inserted;
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                batch.BatchCommands.Add(InsertCommand([job]));
                await using var reader = await batch.ExecuteReaderAsync(_closing.Token).ConfigureAwait(false);
                inserted = await ReadInsertedAsync(reader, 1, _closing.Token).ConfigureAwait(false);
            }

            if (!inserted[0].Inserted)
            {
                await ResolveExistingAsync([job], inserted, connection, transaction, _closing.Token).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand(S("UPDATE {s}.schedules SET last_tick = @tick, last_job_id = @job WHERE name = @name"), connection, transaction))
            {
                record.Parameters.Add(P("name", fire.Name, NpgsqlDbType.Text));
                record.Parameters.Add(P("tick", (fire.JobTick ?? fire.Tick).ToUniversalTime(), NpgsqlDbType.TimestampTz));
                record.Parameters.Add(P("job", inserted[0].JobId, NpgsqlDbType.Bigint));
                await record.ExecuteNonQueryAsync(_closing.Token).ConfigureAwait(false);
            }

            await transaction.CommitAsync(_closing.Token).ConfigureAwait(false);
            return new ScheduleFireResult(true, inserted[0]);
        }).ConfigureAwait(false);

        if (result.Job is { Inserted: true } && fire.Job is { } fired)
        {
            NotifySoon(fired.Queue);
        }

        return result;
    }

    /// <inheritdoc />
    public override Task<bool> SetSchedulePausedAsync(string name, bool paused, CancellationToken cancellationToken) =>
        ScheduleWriteAsync("pause or resume a schedule", "UPDATE {s}.schedules SET paused = @flag WHERE name = @name", name, paused, null, cancellationToken);

    /// <inheritdoc />
    public override Task<bool> MarkScheduleOrphanedAsync(string name, long version, CancellationToken cancellationToken) =>
        ScheduleWriteAsync("mark a schedule orphaned", "UPDATE {s}.schedules SET orphaned = true WHERE name = @name AND version = @version AND from_code AND NOT orphaned", name, null, version, cancellationToken);

    /// <inheritdoc />
    public override Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken) =>
        ScheduleWriteAsync("remove a schedule", "DELETE FROM {s}.schedules WHERE name = @name", name, null, null, cancellationToken);

    private async Task<bool> ScheduleWriteAsync(string what, string sql, string name, bool? flag, long? version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        return await OnceAsync(what, async () =>
        {
            await using var command = _dataSource.CreateCommand(S(sql));
            command.Parameters.Add(P("name", name, NpgsqlDbType.Text));
            if (flag is { } f)
            {
                command.Parameters.Add(P("flag", f, NpgsqlDbType.Boolean));
            }

            if (version is { } v)
            {
                command.Parameters.Add(P("version", v, NpgsqlDbType.Bigint));
            }

            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<ScheduleRow>> ReadSchedulesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<ScheduleRow>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(ReadSchedule(reader));
        }

        return rows;
    }

    private static ScheduleRow ReadSchedule(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetBoolean(3), reader.GetBoolean(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        reader.IsDBNull(7) ? null : reader.GetInt64(7), reader.GetInt64(8));
}
