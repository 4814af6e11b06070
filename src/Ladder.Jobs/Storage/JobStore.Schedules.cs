namespace Ladder.Jobs.Storage;

/// <summary>
/// Schedule rows: what a store keeps for recurring schedules (see <c>docs/jobs/schedules.md</c>). The core owns the
/// definitions (a schedule's spec is opaque text to the store, compared as text) and computes every tick; a store keeps
/// one durable row per schedule name and advances it only by a compare-and-set on (name, version, next tick), in the
/// same transaction as the tick's job. That compare-and-set is what makes a tick fire once across every process and
/// host sharing the store; the tick's unique key on its job is the second fence.
/// </summary>
public abstract partial class JobStore
{
    /// <summary>
    /// Inserts a schedule row or updates the one of that name. A new row is active (not paused, not orphaned), version 1,
    /// with <see cref="ScheduleUpsert.NextTick"/>. An existing row whose spec is the same text keeps its next tick and
    /// version; one whose spec differs takes the new spec and next tick, and its version goes up by one (a host still
    /// holding the old version can no longer fire it). Either way the row is no longer orphaned, its origin is the
    /// upsert's, and its paused flag is kept.
    /// </summary>
    /// <param name="upsert">The schedule.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>The row as it is after the write.</returns>
    public abstract Task<ScheduleRow> UpsertScheduleAsync(ScheduleUpsert upsert, CancellationToken cancellationToken);

    /// <summary>Every schedule row, by name (ordinal), without waiting for writes.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The rows.</returns>
    public abstract Task<IReadOnlyList<ScheduleRow>> GetSchedulesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The active rows (not paused, not orphaned) whose next tick is at or before <paramref name="now"/>, earliest first,
    /// at most <paramref name="limit"/>; and the earliest next tick after <paramref name="now"/> among active rows. One
    /// indexed read: a thousand idle schedules cost the same as one.
    /// </summary>
    /// <param name="now">The scheduler's now (its <see cref="TimeProvider"/>: ticks are computed in the host's clock).</param>
    /// <param name="limit">At most this many due rows (at least 1).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The due rows and the next tick after them.</returns>
    public abstract Task<DueSchedules> GetDueSchedulesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Fires a tick, in one transaction: a compare-and-set that moves the row's next tick from
    /// <see cref="ScheduleFire.Tick"/> to <see cref="ScheduleFire.NextTick"/> only if the row still has that next tick and
    /// <see cref="ScheduleFire.Version"/> and is active; if it matched and <see cref="ScheduleFire.Job"/> is given, the job
    /// is inserted as <see cref="EnqueueAsync"/> inserts (its unique key names the schedule and the tick) and recorded as
    /// the row's last tick and job. Durable; wakes processors of other processes as an enqueue does.
    /// </summary>
    /// <param name="fire">The tick.</param>
    /// <returns>Whether the row advanced (false: another process fired or skipped that tick first, or the row changed, was paused or removed: nothing was written), and the job if one was inserted or found under its unique key.</returns>
    public abstract Task<ScheduleFireResult> FireScheduleAsync(ScheduleFire fire);

    /// <summary>Pauses or resumes a schedule. A paused row is never due and never fires; resuming keeps its next tick, so ticks missed while paused meet the schedule's missed-tick policy.</summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="paused">Paused (true) or active.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether there is such a row.</returns>
    public abstract Task<bool> SetSchedulePausedAsync(string name, bool paused, CancellationToken cancellationToken);

    /// <summary>Marks a row orphaned (declared in code once, no longer by the host that looked): it no longer fires, and is listed as orphaned until it is declared again or removed.</summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="version">The version the caller read: a row changed since (declared again by another host) is left alone.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether the row was marked.</returns>
    public abstract Task<bool> MarkScheduleOrphanedAsync(string name, long version, CancellationToken cancellationToken);

    /// <summary>Deletes a schedule row. Jobs it enqueued stay.</summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="cancellationToken">Stops waiting; the delete may still commit.</param>
    /// <returns>Whether there was such a row.</returns>
    public abstract Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A durable schedule row.</summary>
/// <param name="Name">The schedule's name (its key).</param>
/// <param name="Spec">The schedule's definition as the core wrote it (opaque to the store).</param>
/// <param name="DeclaredInCode">Whether it was declared in code (checked for orphans at start-up) rather than added at run time.</param>
/// <param name="Paused">Whether it is paused.</param>
/// <param name="Orphaned">Whether a host found it no longer declared in its code (it no longer fires).</param>
/// <param name="NextTick">Its next tick; <see langword="null"/>: none will come.</param>
/// <param name="LastTick">The last tick that enqueued a job, if any.</param>
/// <param name="LastJobId">The job of <paramref name="LastTick"/>, if any.</param>
/// <param name="Version">Goes up whenever the spec changes; a fire is a compare-and-set on it.</param>
public sealed record ScheduleRow(
    string Name, string Spec, bool DeclaredInCode, bool Paused, bool Orphaned, DateTimeOffset? NextTick, DateTimeOffset? LastTick, long? LastJobId, long Version);

/// <summary>A schedule to insert or update (see <see cref="JobStore.UpsertScheduleAsync"/>).</summary>
/// <param name="Name">The schedule name.</param>
/// <param name="Spec">Its definition, as text.</param>
/// <param name="DeclaredInCode">Whether it is declared in code.</param>
/// <param name="NextTick">Its first tick, used when the row is new or its spec changed.</param>
public sealed record ScheduleUpsert(string Name, string Spec, bool DeclaredInCode, DateTimeOffset? NextTick);

/// <summary>What a scheduler's read found.</summary>
/// <param name="Due">The due rows, earliest first.</param>
/// <param name="NextTick">The earliest next tick after the read's now among active rows; <see langword="null"/>: none.</param>
public sealed record DueSchedules(IReadOnlyList<ScheduleRow> Due, DateTimeOffset? NextTick);

/// <summary>A tick to fire (see <see cref="JobStore.FireScheduleAsync"/>).</summary>
/// <param name="Name">The schedule name.</param>
/// <param name="Version">The row's version as read.</param>
/// <param name="Tick">The row's next tick as read: the compare-and-set's expected value.</param>
/// <param name="NextTick">The row's new next tick; <see langword="null"/>: none will come.</param>
/// <param name="Job">The tick's job, or <see langword="null"/> to advance without one (a missed tick skipped).</param>
/// <param name="JobTick">The tick the job stands for (recorded as the row's last tick); set when <paramref name="Job"/> is.</param>
public sealed record ScheduleFire(string Name, long Version, DateTimeOffset Tick, DateTimeOffset? NextTick, NewJob? Job, DateTimeOffset? JobTick)
{
    /// <summary>
    /// The fire of a resume: the compare-and-set matches a <em>paused</em> row (not an active one) and unpauses it in the
    /// same write, so no scheduler sees the row active with the ticks of its pause still ahead of it.
    /// </summary>
    public bool Resume { get; init; }
}

/// <summary>What a fire did.</summary>
/// <param name="Advanced">Whether the compare-and-set matched (the tick is this caller's).</param>
/// <param name="Job">The tick's job when one was asked for and the row advanced: inserted, or the job already holding the tick's unique key.</param>
public readonly record struct ScheduleFireResult(bool Advanced, EnqueueResult? Job);
