using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Diagnostics;

/// <summary>Every log message of Ladder.Jobs. Event ids 3000-3099.</summary>
internal static partial class Log
{
    [LoggerMessage(3000, LogLevel.Information, "Job queue opened at {Path} (schema {Version}, synchronous {Mode})")]
    public static partial void Opened(ILogger logger, string path, long version, SynchronousMode mode);

    [LoggerMessage(3001, LogLevel.Warning, "The job queue's write lock was busy (attempt {Attempt}); retrying the batch: {Message}")]
    public static partial void WriterBusy(ILogger logger, int attempt, string message);

    [LoggerMessage(3002, LogLevel.Error, "A group commit of {Count} operations failed")]
    public static partial void WriterBatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(3003, LogLevel.Error, "A commit callback threw")]
    public static partial void CommitCallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(3004, LogLevel.Warning, "Rescued {Count} jobs whose lease expired while they ran ({Dead} dead as poison); released {Released} claimed ahead that had not started")]
    public static partial void Rescued(ILogger logger, int count, int dead, int released);

    [LoggerMessage(3005, LogLevel.Warning, "Job {JobId} ({Kind}) attempt {Attempt} failed; retry at {RetryAt:o}")]
    public static partial void JobRetrying(ILogger logger, long jobId, string kind, int attempt, DateTimeOffset retryAt, Exception exception);

    [LoggerMessage(3006, LogLevel.Error, "Job {JobId} ({Kind}) is dead after attempt {Attempt}")]
    public static partial void JobDead(ILogger logger, long jobId, string kind, int attempt, Exception exception);

    [LoggerMessage(3007, LogLevel.Warning, "Job {JobId} was cancelled while it ran; its outcome was discarded")]
    public static partial void OutcomeDiscardedCancelled(ILogger logger, long jobId);

    [LoggerMessage(3008, LogLevel.Information, "Processor started: queues {Queues}")]
    public static partial void ProcessorStarted(ILogger logger, string queues);

    [LoggerMessage(3009, LogLevel.Information, "Processor stopped: {GivenBack} jobs given back without spending an attempt")]
    public static partial void ProcessorStopped(ILogger logger, int givenBack);

    [LoggerMessage(3010, LogLevel.Error, "A processor loop failed; it continues")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(3011, LogLevel.Information, "Retention deleted {Count} finished jobs")]
    public static partial void RetentionDeleted(ILogger logger, int count);

    [LoggerMessage(3012, LogLevel.Warning, "The handler of job {JobId} ignored cancellation after its timeout; the attempt was failed without it")]
    public static partial void HandlerIgnoredTimeout(ILogger logger, long jobId);

    [LoggerMessage(3013, LogLevel.Debug, "Job {JobId} ({Kind}) succeeded")]
    public static partial void JobSucceeded(ILogger logger, long jobId, string kind);

    [LoggerMessage(3014, LogLevel.Warning, "The starts of jobs claimed ahead could not be recorded; they run anyway, and a crash during them may not count as their rescue")]
    public static partial void StartMarksFailed(ILogger logger, Exception exception);

    [LoggerMessage(3015, LogLevel.Warning, "The start of job {JobId}, rescued before, could not be recorded; it is not run now, and comes back when its lease expires")]
    public static partial void StartMarkFailedNotRun(ILogger logger, long jobId, Exception exception);

    [LoggerMessage(3017, LogLevel.Information, "Job queue opened on {Location} (store {Store}, schema {Version})")]
    public static partial void OpenedStore(ILogger logger, string location, string store, long version);

    [LoggerMessage(3016, LogLevel.Warning, "Telemetry of job {JobId} threw (an ActivityListener or a MeterListener); the job runs without it")]
    public static partial void TelemetryFailed(ILogger logger, long jobId, Exception exception);

    [LoggerMessage(3018, LogLevel.Information, "Rate limit set: {Scope} {Name}, at most {MaxStarts} starts per {Window}")]
    public static partial void RateLimitSet(ILogger logger, RateLimitScope scope, string name, int maxStarts, TimeSpan window);

    [LoggerMessage(3019, LogLevel.Information, "Rate limit removed: {Scope} {Name}")]
    public static partial void RateLimitRemoved(ILogger logger, RateLimitScope scope, string name);

    [LoggerMessage(3020, LogLevel.Debug, "A claim of queue {Queue} held back {HeldBack} runnable jobs for their concurrency keys or rate limits")]
    public static partial void HeldBack(ILogger logger, string queue, int heldBack);

    [LoggerMessage(3021, LogLevel.Warning, "Job {JobId} ({Kind}, attempt {Attempt}) lost its lease while this process held it: the lease of {LeaseDuration} expired and another process rescued the job (this process was stalled or cut off from the store for longer); this run's outcome is not applied")]
    public static partial void LeaseLostToRescue(ILogger logger, long jobId, string kind, int attempt, TimeSpan leaseDuration);
}
