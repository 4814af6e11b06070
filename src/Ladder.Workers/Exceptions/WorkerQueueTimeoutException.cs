namespace Ladder.Workers;

/// <summary>
/// No worker took the call within its <see cref="WorkerCallOptions.MaxQueueWait"/> (or the pool's
/// <see cref="WorkerPoolOptions.MaxQueueWait"/>): every worker stayed busy, or none could be started. Nothing was sent.
/// </summary>
public sealed class WorkerQueueTimeoutException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="maxQueueWait">The bound that passed.</param>
    /// <param name="lastStartError">The last failed worker start, if any (why no worker may have been free).</param>
    public WorkerQueueTimeoutException(string operation, TimeSpan maxQueueWait, Exception? lastStartError = null)
        : base(
            $"'{operation}' waited {maxQueueWait.TotalMilliseconds:0} ms (MaxQueueWait) for a worker and got none; it was not sent."
                + (lastStartError is null ? "" : $" Last start error: {lastStartError.Message}"),
            lastStartError)
    {
        Operation = operation;
        MaxQueueWait = maxQueueWait;
    }

    /// <summary>The queue-wait bound that passed.</summary>
    public TimeSpan MaxQueueWait { get; }
}
