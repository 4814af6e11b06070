namespace Ladder.Workers;

/// <summary>What a call does when every worker is busy and the queue in front of the pool is full.</summary>
public enum WorkerQueueFullMode
{
    /// <summary>Wait (asynchronously, cancellable) for room in the queue.</summary>
    Wait = 0,

    /// <summary>Fail at once with <see cref="WorkerPoolFullException"/>.</summary>
    FailFast = 1,
}
