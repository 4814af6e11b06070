namespace Ladder.Jobs;

/// <summary>Options of a <see cref="JobScheduler"/>: the schedules declared in code and how the scheduler reads the store.</summary>
public sealed class JobSchedulerOptions
{
    /// <summary>The schedules declared in code, stored (added or updated) when the scheduler starts. Names must be distinct.</summary>
    public IList<JobSchedule> Schedules { get; } = [];

    /// <summary>
    /// Whether, at start, schedules declared in code once (by any host) but not in <see cref="Schedules"/> are marked
    /// orphaned (listed as such, with a logged warning, and no longer fired) rather than kept running. Turn it off only
    /// when hosts with different sets of schedules share one store. Default: <see langword="true"/>.
    /// </summary>
    public bool ReportOrphans { get; set; } = true;

    /// <summary>
    /// The longest the scheduler's one timer waits before it reads the store again, whatever the next tick: how soon it
    /// sees a schedule added or resumed by another process. Positive, at most <see cref="LadderJobsOptions.MaxTimerValue"/>. Default: 1 min.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How late a tick may fire and still count as on time. A tick older than this when a scheduler finds it (every host
    /// was down, or the schedule paused) is missed, and its schedule's <see cref="JobSchedule.MissedTicks"/> policy
    /// applies. Not negative. Default: 1 min.
    /// </summary>
    public TimeSpan MissedTickTolerance { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Due schedules fired per read of the store (more are read at once after). 1..10,000. Default: 100.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Every problem with these options; empty when they are valid.</summary>
    /// <returns>The failures, each naming the option.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (RefreshInterval <= TimeSpan.Zero || RefreshInterval > LadderJobsOptions.MaxTimerValue)
        {
            failures.Add($"RefreshInterval must be positive and at most {LadderJobsOptions.MaxTimerValue} (was {RefreshInterval}).");
        }

        if (MissedTickTolerance < TimeSpan.Zero)
        {
            failures.Add($"MissedTickTolerance must not be negative (was {MissedTickTolerance}).");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            failures.Add($"BatchSize must be 1..10000 (was {BatchSize}).");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var schedule in Schedules)
        {
            if (schedule is null)
            {
                failures.Add("Schedules: an entry is null.");
            }
            else if (!names.Add(schedule.Name))
            {
                failures.Add($"Schedules: the name '{schedule.Name}' is declared twice.");
            }
        }

        return failures;
    }
}
