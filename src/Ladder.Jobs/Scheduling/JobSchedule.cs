namespace Ladder.Jobs;

/// <summary>
/// A recurring schedule: a name, when it ticks (a cron expression in a time zone, or a fixed interval), and the job it
/// enqueues at every tick. Declare it in code (<c>AddSchedule</c> on the jobs builder, or
/// <see cref="JobSchedulerOptions.Schedules"/>) or set it at run time (<see cref="JobQueue.SetScheduleAsync"/>). Each tick
/// enqueues exactly one job across every process sharing the store (see <c>docs/jobs/schedules.md</c>).
/// </summary>
public sealed class JobSchedule
{
    /// <summary>The longest name: 200 characters.</summary>
    public const int MaxNameLength = 200;

    private JobSchedule(string name, string? cron, TimeSpan? interval, TimeZoneInfo timeZone, JobRequest job, MissedTickPolicy missedTicks)
    {
        Name = name;
        CronExpression = cron;
        Interval = interval;
        TimeZone = timeZone;
        Job = job;
        MissedTicks = missedTicks;
    }

    /// <summary>The schedule's name: its key in the store.</summary>
    public string Name { get; }

    /// <summary>The cron expression (5 fields, or 6 with seconds first), or <see langword="null"/> for an interval schedule.</summary>
    public string? CronExpression { get; }

    /// <summary>The fixed interval, or <see langword="null"/> for a cron schedule.</summary>
    public TimeSpan? Interval { get; }

    /// <summary>The time zone the cron expression is read in (UTC unless given). Unused by interval schedules.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>The job each tick enqueues: its kind, payload and options (queue, priority, attempts, timeout).</summary>
    public JobRequest Job { get; }

    /// <summary>What a tick missed while no scheduler ran does. Default: <see cref="MissedTickPolicy.RunOnce"/>.</summary>
    public MissedTickPolicy MissedTicks { get; }

    /// <summary>A schedule that ticks by a cron expression.</summary>
    /// <param name="name">The name; not empty, at most <see cref="MaxNameLength"/> characters.</param>
    /// <param name="cronExpression">
    /// Five fields (minute hour day-of-month month day-of-week) or six (seconds first), as Cronos reads them (e.g.
    /// <c>"30 2 * * *"</c>: every day at 02:30), or a macro such as <c>@daily</c>.
    /// </param>
    /// <param name="job">The job each tick enqueues. Its options may not set <see cref="JobOptions.RunAt"/>, <see cref="JobOptions.Delay"/> or <see cref="JobOptions.UniqueKey"/> (the scheduler keys each tick's job itself).</param>
    /// <param name="timeZone">The zone the expression is read in; <see langword="null"/>: UTC. Daylight-saving transitions: see <c>docs/jobs/schedules.md</c>.</param>
    /// <param name="missedTicks">What a missed tick does. Default: <see cref="MissedTickPolicy.RunOnce"/>.</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="JobScheduleException">The name, the expression, the zone (not a system time zone of this host) or the job's options are invalid.</exception>
    public static JobSchedule Cron(string name, string cronExpression, JobRequest job, TimeZoneInfo? timeZone = null, MissedTickPolicy missedTicks = MissedTickPolicy.RunOnce)
    {
        ArgumentNullException.ThrowIfNull(cronExpression);
        var schedule = new JobSchedule(name, cronExpression.Trim(), null, timeZone ?? TimeZoneInfo.Utc, job, missedTicks);
        schedule.Validate();
        return schedule;
    }

    /// <summary>A schedule that ticks every <paramref name="interval"/>, the first tick one interval after it is first stored.</summary>
    /// <param name="name">The name; not empty, at most <see cref="MaxNameLength"/> characters.</param>
    /// <param name="interval">The interval: whole milliseconds, at least 1 s and at most 366 days.</param>
    /// <param name="job">The job each tick enqueues (see <see cref="Cron"/> for what its options may not set).</param>
    /// <param name="missedTicks">What a missed tick does. Default: <see cref="MissedTickPolicy.RunOnce"/>.</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="JobScheduleException">The name, the interval or the job's options are invalid.</exception>
    public static JobSchedule Every(string name, TimeSpan interval, JobRequest job, MissedTickPolicy missedTicks = MissedTickPolicy.RunOnce)
    {
        var schedule = new JobSchedule(name, null, interval, TimeZoneInfo.Utc, job, missedTicks);
        schedule.Validate();
        return schedule;
    }

    /// <summary>What the schedule ticks by, for messages: the cron expression and zone, or the interval.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => CronExpression is { } cron ? $"{Name}: cron '{cron}' ({TimeZone.Id})" : $"{Name}: every {Interval}";

    private void Validate()
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > MaxNameLength || Name.Trim().Length != Name.Length)
        {
            failures.Add($"The name must be 1..{MaxNameLength} characters, without leading or trailing white space (was '{Name}').");
        }

        if (Job is null)
        {
            failures.Add("The job is required.");
        }
        else
        {
            var o = Job.Options;
            if (o.RunAt is not null || o.Delay is not null)
            {
                failures.Add("The job's options may not set RunAt or Delay: a tick's job runs at its tick.");
            }

            if (o.UniqueKey is not null)
            {
                failures.Add("The job's options may not set UniqueKey: the scheduler keys each tick's job by the schedule and the tick.");
            }

            try
            {
                JobQueue.ValidateRequest(Job);
            }
            catch (ArgumentException e)
            {
                failures.Add("The job's options are invalid: " + e.Message);
            }
        }

        if (!Enum.IsDefined(MissedTicks))
        {
            failures.Add($"MissedTicks is not a MissedTickPolicy (was {(int)MissedTicks}).");
        }

        if (CronExpression is { } cron)
        {
            if (ScheduleSpec.ParseCron(cron, out var error) is null)
            {
                failures.Add(error!);
            }

            // The store keeps the zone by its id, and every host reads the schedule back by that id: a zone made with
            // TimeZoneInfo.CreateCustomTimeZone (or any id this host cannot find) was stored and then never fired.
            if (!IsSystemZone(TimeZone))
            {
                failures.Add($"The time zone '{TimeZone.Id}' is not a system time zone of this host: a schedule keeps its zone by id " +
                    "(TimeZoneInfo.FindSystemTimeZoneById), so every host that fires it must know that id." +
                    (TimeZone.Id == "Local" ? " TimeZoneInfo.Local has no system id here (TZ unset and /etc/localtime not a link): pass the zone by its id." : ""));
            }
        }
        else if (Interval is not { } interval || interval < MinInterval || interval > MaxInterval || interval.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            failures.Add($"The interval must be whole milliseconds, at least {MinInterval} and at most {MaxInterval} (was {Interval}).");
        }

        if (failures.Count > 0)
        {
            throw new JobScheduleException(Name ?? "", failures);
        }
    }

    private static bool IsSystemZone(TimeZoneInfo zone)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(zone.Id).HasSameRules(zone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }

    /// <summary>The shortest interval: 1 s.</summary>
    public static TimeSpan MinInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest interval: 366 days.</summary>
    public static TimeSpan MaxInterval { get; } = TimeSpan.FromDays(366);
}

/// <summary>What a scheduler does with ticks that passed while no scheduler ran (every host down, or the schedule paused).</summary>
public enum MissedTickPolicy
{
    /// <summary>Run once to catch up: one job for all the missed ticks (labelled with the first of them), then on schedule. The default.</summary>
    RunOnce = 0,

    /// <summary>Skip them: no job for missed ticks; the schedule goes on from its next tick.</summary>
    Skip = 1,
}

/// <summary>A schedule as stored, with its state (see <see cref="JobQueue.GetSchedulesAsync"/>).</summary>
/// <param name="Name">The name.</param>
/// <param name="CronExpression">The cron expression, or <see langword="null"/> for an interval schedule.</param>
/// <param name="Interval">The interval, or <see langword="null"/> for a cron schedule.</param>
/// <param name="TimeZoneId">The cron expression's time zone id (<c>UTC</c> for interval schedules).</param>
/// <param name="Kind">The kind of the job each tick enqueues.</param>
/// <param name="Queue">The queue it is enqueued in.</param>
/// <param name="MissedTicks">Its missed-tick policy.</param>
/// <param name="NextTick">Its next tick; <see langword="null"/>: none will come (or the stored definition could not be read).</param>
/// <param name="LastTick">The last tick that enqueued a job, if any.</param>
/// <param name="LastJobId">That job's id, if any.</param>
/// <param name="Paused">Whether it is paused.</param>
/// <param name="Orphaned">Whether it was declared in code and a host found it no longer declared: it does not fire (remove it, or declare it again).</param>
/// <param name="DeclaredInCode">Whether it was declared in code (false: set at run time).</param>
/// <param name="Error">Why the stored definition could not be read (written by a newer version?), or <see langword="null"/>.</param>
public sealed record ScheduleInfo(
    string Name, string? CronExpression, TimeSpan? Interval, string TimeZoneId, string Kind, string Queue, MissedTickPolicy MissedTicks,
    DateTimeOffset? NextTick, DateTimeOffset? LastTick, long? LastJobId, bool Paused, bool Orphaned, bool DeclaredInCode, string? Error);

/// <summary>A schedule's definition is invalid (its name, its cron expression or interval, or its job's options).</summary>
public sealed class JobScheduleException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="name">The schedule's name.</param>
    /// <param name="failures">Every problem found.</param>
    public JobScheduleException(string name, IReadOnlyList<string> failures)
        : base($"The schedule '{name}' is invalid: " + string.Join(" ", failures ?? []))
    {
        ScheduleName = name;
        Failures = failures ?? [];
    }

    /// <summary>The schedule's name.</summary>
    public string ScheduleName { get; }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<string> Failures { get; }
}
