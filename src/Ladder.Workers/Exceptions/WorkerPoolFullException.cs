namespace Ladder.Workers;

/// <summary>Every worker is busy and the queue is full, and the pool fails fast (<see cref="WorkerQueueFullMode.FailFast"/>).</summary>
public sealed class WorkerPoolFullException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="queueCapacity">The queue capacity that was reached.</param>
    public WorkerPoolFullException(int queueCapacity)
        : base($"The worker pool is busy and its queue of {queueCapacity} is full.") => QueueCapacity = queueCapacity;

    /// <summary>The queue capacity that was reached.</summary>
    public int QueueCapacity { get; }
}
