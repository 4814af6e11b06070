using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>Recurring schedules managed at run time (see <c>docs/jobs/schedules.md</c>); a <see cref="JobScheduler"/> fires them.</summary>
public sealed partial class JobQueue
{
    /// <summary>Raised after this queue changed a schedule (set, resumed): a scheduler of this process reads the store again at once.</summary>
    internal event Action? SchedulesChanged;

    /// <summary>
    /// Adds a schedule, or changes the one of that name. A new schedule, or one whose definition changed, ticks from now
    /// on (its next tick is computed afresh); setting an unchanged definition keeps its next tick. A paused schedule stays
    /// paused. A schedule declared in code and set here is a run-time schedule from then on (never orphaned) until a host
    /// that declares it starts. Schedulers of this process see it at once, those of other processes within
    /// <see cref="JobSchedulerOptions.RefreshInterval"/>.
    /// </summary>
    /// <param name="schedule">The schedule.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>The schedule as stored.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public Task<ScheduleInfo> SetScheduleAsync(JobSchedule schedule, CancellationToken cancellationToken = default) =>
        UpsertScheduleAsync(schedule, declaredInCode: false, cancellationToken);

    internal async Task<ScheduleInfo> UpsertScheduleAsync(JobSchedule schedule, bool declaredInCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ThrowIfDisposed();
        var spec = ScheduleSpec.From(schedule);
        var row = await _store.UpsertScheduleAsync(new ScheduleUpsert(schedule.Name, spec.ToJson(), declaredInCode, spec.First(Time.GetUtcNow())), cancellationToken).ConfigureAwait(false);
        SchedulesChanged?.Invoke();
        return ToInfo(row);
    }

    /// <summary>Pauses a schedule: it enqueues nothing until resumed, in every process.</summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether there is such a schedule.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public Task<bool> PauseScheduleAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, true, cancellationToken);

    /// <summary>
    /// Resumes a paused schedule. Ticks that passed while it was paused are missed ticks, handled at once by its
    /// <see cref="JobSchedule.MissedTicks"/> policy: one job to catch up, labelled with the first of them
    /// (<see cref="MissedTickPolicy.RunOnce"/>), or none (<see cref="MissedTickPolicy.Skip"/>); either way its next tick
    /// is then the first one after now.
    /// </summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether there is such a schedule.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public Task<bool> ResumeScheduleAsync(string name, CancellationToken cancellationToken = default) => SetPausedAsync(name, false, cancellationToken);

    private async Task<bool> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfDisposed();
        if (paused)
        {
            return await _store.SetSchedulePausedAsync(name, true, cancellationToken).ConfigureAwait(false);
        }

        // Only a schedule that was paused has ticks of a pause: resuming an active one must not treat its late tick (a
        // busy scheduler) as missed, so it is a plain unpause (which changes nothing).
        var found = true;
        try
        {
            var pausedRow = (await _store.GetSchedulesAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.Name == name && r.Paused);
            if (pausedRow is null || !await ResumeWithMissedTicksAsync(pausedRow).ConfigureAwait(false))
            {
                found = await _store.SetSchedulePausedAsync(name, false, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            SchedulesChanged?.Invoke(); // Whatever the outcome: the local scheduler reads the rows again.
        }

        return found;
    }

    // At a resume, the ticks that passed while the schedule was paused are missed ticks, whatever the scheduler's
    // tolerance (which is for schedulers running late, not for a pause): the policy's one catch-up job, or none, and the
    // next tick after now (ScheduleSpec.AfterPause), in the fire that unpauses the row (ScheduleFire.Resume: the
    // compare-and-set every scheduler's fire makes, on the paused row as read, with the unpause in the same write; not
    // cancellable, as a scheduler's fire is not). So no scheduler sees the row active with the ticks of its pause ahead.
    // Before, the row kept its old next tick and every tick within the tolerance fired at the resume: a 2 s schedule
    // paused for 30 s enqueued 15 jobs, with Skip too; and until the fire and the unpause were one write, a scheduler
    // firing the row between them did the same. False: nothing to settle (no tick passed, an orphan, an unreadable
    // spec), or the row changed since it was read (resumed, changed, removed meanwhile): the caller unpauses it plainly.
    private async Task<bool> ResumeWithMissedTicksAsync(ScheduleRow row)
    {
        if (row is not { Orphaned: false, NextTick: { } tick } || ScheduleSpec.Parse(row.Spec, out _) is not { } spec ||
            spec.AfterPause(tick, Time.GetUtcNow()) is not { } decided)
        {
            return false;
        }

        var (jobTick, next) = decided;
        var job = jobTick is { } jt ? spec.NewJob(row.Name, jt, Settings.DefaultMaxAttempts) : null;
        var fired = await _store.FireScheduleAsync(new ScheduleFire(row.Name, row.Version, tick, next, job, jobTick) { Resume = true }).ConfigureAwait(false);
        if (fired is { Advanced: true, Job: { } enqueued } && job is not null)
        {
            AfterEnqueueCommitted([job], [enqueued]); // Wakes this process's processors, as a scheduler's fire does.
        }

        return fired.Advanced;
    }

    /// <summary>Removes a schedule: it enqueues nothing more. Jobs it enqueued stay. A schedule still declared in code comes back when its host starts again.</summary>
    /// <param name="name">The schedule name.</param>
    /// <param name="cancellationToken">Stops waiting; the delete may still commit.</param>
    /// <returns>Whether there was such a schedule.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public Task<bool> RemoveScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfDisposed();
        return _store.RemoveScheduleAsync(name, cancellationToken);
    }

    /// <summary>Every stored schedule, by name, with its next and last tick, whether it is paused, and whether it is orphaned (declared in code once, no longer).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The schedules.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be read.</exception>
    public async Task<IReadOnlyList<ScheduleInfo>> GetSchedulesAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var rows = await _store.GetSchedulesAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(ToInfo)];
    }

    internal static ScheduleInfo ToInfo(ScheduleRow row) =>
        ScheduleSpec.Parse(row.Spec, out var error) is { } spec
            ? spec.Info(row, row.Orphaned)
            : new ScheduleInfo(row.Name, null, null, "", "", "", MissedTickPolicy.RunOnce, row.NextTick, row.LastTick, row.LastJobId, row.Paused, row.Orphaned, row.DeclaredInCode, error);
}
