using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.PostgreSql.Internal;

/// <summary>Every log message of Ladder.Jobs.PostgreSql; event ids 3100-3199.</summary>
internal static partial class Log
{
    [LoggerMessage(3100, LogLevel.Information, "Opened the job store {Location} (schema version {Version}; LISTEN/NOTIFY {Notify}).")]
    public static partial void Opened(ILogger logger, string location, long version, string notify);

    [LoggerMessage(3101, LogLevel.Information, "Migrated the job store {Location} from schema version {From} to {To}.")]
    public static partial void Migrated(ILogger logger, string location, long from, long to);

    [LoggerMessage(3102, LogLevel.Information, "Listening on channel '{Channel}' for new jobs.")]
    public static partial void Listening(ILogger logger, string channel);

    [LoggerMessage(3103, LogLevel.Warning, "The listening connection failed; reconnecting in {Delay} (attempt {Attempt}). Polling finds new jobs meanwhile.")]
    public static partial void ListenerFailed(ILogger logger, Exception exception, TimeSpan delay, int attempt);

    [LoggerMessage(3104, LogLevel.Warning, "Writing {What} failed with a transient error; retrying in {Delay} (attempt {Attempt}).")]
    public static partial void WriteRetrying(ILogger logger, Exception exception, string what, TimeSpan delay, int attempt);

    [LoggerMessage(3105, LogLevel.Error, "Writing {What} failed for {Elapsed}; giving up (the leases have expired: the jobs run again).")]
    public static partial void WriteGaveUp(ILogger logger, Exception exception, string what, TimeSpan elapsed);

    [LoggerMessage(3106, LogLevel.Debug, "Sending the debounced notification for queue '{Queue}' failed; polling finds its jobs.")]
    public static partial void NotifyFailed(ILogger logger, Exception exception, string queue);

    [LoggerMessage(3107, LogLevel.Debug, "A notification on channel '{Channel}' had no queue name; ignored.")]
    public static partial void EmptyNotification(ILogger logger, string channel);

    [LoggerMessage(3109, LogLevel.Warning, "After a claim of {Count} jobs from queue '{Queue}' had committed, its next-run query or its claim of limited jobs failed; the claimed jobs run, and the queue is claimed again by the next poll or wake-up.")]
    public static partial void ClaimFollowUpFailed(ILogger logger, Exception exception, string queue, int count);

    [LoggerMessage(3108, LogLevel.Warning, "The job store {Location} cannot be reached yet; opening again in {Delay} (attempt {Attempt}, waiting up to {Limit} in all).")]
    public static partial void OpenRetrying(ILogger logger, Exception exception, string location, TimeSpan delay, int attempt, TimeSpan limit);
}
