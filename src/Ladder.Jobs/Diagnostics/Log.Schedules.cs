using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Diagnostics;

/// <summary>The scheduler's log messages. Event ids 3060-3079.</summary>
internal static partial class Log
{
    [LoggerMessage(3060, LogLevel.Information, "Scheduler started: {Declared} schedules declared in code")]
    public static partial void SchedulerStarted(ILogger logger, int declared);

    [LoggerMessage(3061, LogLevel.Warning, "Schedule {Name} is in the store but no longer declared in this host's code: it is marked orphaned and no longer fires. Remove it (JobQueue.RemoveScheduleAsync), or declare it again")]
    public static partial void ScheduleOrphaned(ILogger logger, string name);

    [LoggerMessage(3062, LogLevel.Debug, "Schedule {Name} fired its tick {Tick:o}: job {JobId} (inserted {Inserted})")]
    public static partial void ScheduleFired(ILogger logger, string name, DateTimeOffset tick, long jobId, bool inserted);

    [LoggerMessage(3063, LogLevel.Information, "Schedule {Name} missed ticks from {Tick:o} while no scheduler ran; policy {Policy}: {Outcome}; next tick {Next:o}")]
    public static partial void ScheduleMissed(ILogger logger, string name, DateTimeOffset tick, MissedTickPolicy policy, string outcome, DateTimeOffset? next);

    [LoggerMessage(3064, LogLevel.Error, "Schedule {Name}: {Error} It does not fire until it is set again")]
    public static partial void ScheduleUnreadable(ILogger logger, string name, string error);

    [LoggerMessage(3065, LogLevel.Error, "Schedule {Name} could not fire; the scheduler tries again at its next read")]
    public static partial void ScheduleFireFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(3066, LogLevel.Error, "A scheduler read failed; it tries again after {Delay}")]
    public static partial void SchedulerPassFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(3067, LogLevel.Information, "Scheduler stopped")]
    public static partial void SchedulerStopped(ILogger logger);
}
