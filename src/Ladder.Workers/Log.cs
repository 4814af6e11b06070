using Microsoft.Extensions.Logging;

namespace Ladder.Workers;

/// <summary>Every log message of Ladder.Workers; event ids 4000–4099.</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Debug, "Worker {Pid} started in {ElapsedMs:0} ms")]
    public static partial void WorkerStarted(ILogger logger, int pid, double elapsedMs);

    [LoggerMessage(4001, LogLevel.Warning, "A worker failed to start ({Failures} in a row): {Reason}")]
    public static partial void WorkerStartFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(4002, LogLevel.Error, "Workers keep failing to start: the breaker is open; the next start is tried in {BackoffMs:0} ms")]
    public static partial void BreakerOpened(ILogger logger, double backoffMs);

    [LoggerMessage(4003, LogLevel.Information, "A worker started again: the breaker is closed")]
    public static partial void BreakerClosed(ILogger logger);

    [LoggerMessage(4004, LogLevel.Information, "Worker {Pid}: {Line}")]
    public static partial void WorkerStderr(ILogger logger, int pid, string line);

    [LoggerMessage(4005, LogLevel.Debug, "Writing a {FrameType} frame to worker {Pid} failed: {Reason}")]
    public static partial void WriteFailed(ILogger logger, int pid, string frameType, string reason);

    [LoggerMessage(4006, LogLevel.Warning, "'{Operation}' passed its deadline of {DeadlineMs:0} ms in worker {Pid} (attempt {Attempt})")]
    public static partial void CallTimedOut(ILogger logger, string operation, double deadlineMs, int pid, int attempt);

    [LoggerMessage(4007, LogLevel.Warning, "Worker {Pid} did not stop within the grace after a cancel; its process group was killed")]
    public static partial void WorkerKilled(ILogger logger, int pid);

    [LoggerMessage(4008, LogLevel.Debug, "Worker {Pid} stopped after a cancel and is healthy")]
    public static partial void WorkerCancelledCleanly(ILogger logger, int pid);

    [LoggerMessage(4009, LogLevel.Error, "Worker {Pid} failed: {Message}")]
    public static partial void WorkerFaulted(ILogger logger, int pid, string message);

    [LoggerMessage(4010, LogLevel.Information, "Worker {Pid} is recycled after {Calls} calls (working set {WorkingSet} bytes, reason {Reason})")]
    public static partial void WorkerRecycled(ILogger logger, int pid, int calls, long workingSet, string reason);

    [LoggerMessage(4011, LogLevel.Warning, "Worker {Pid} did not exit within the kill wait")]
    public static partial void WorkerDidNotExit(ILogger logger, int pid);

    [LoggerMessage(4012, LogLevel.Information, "The worker pool is shutting down with {InFlight} calls in flight")]
    public static partial void ShuttingDown(ILogger logger, int inFlight);

    [LoggerMessage(4013, LogLevel.Warning, "'{Operation}' timed out; running the caller's fallback")]
    public static partial void RunningFallback(ILogger logger, string operation);
}
