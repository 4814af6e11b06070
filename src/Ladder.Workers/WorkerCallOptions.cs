namespace Ladder.Workers;

/// <summary>Per-call settings; anything left null takes the pool's default.</summary>
public sealed class WorkerCallOptions
{
    /// <summary>The call's deadline, measured from the moment a worker gets it (queue wait is not counted). Default: <see cref="WorkerPoolOptions.DefaultDeadline"/>.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Result or exception on timeout. Default: <see cref="WorkerPoolOptions.TimeoutBehavior"/>.</summary>
    public WorkerTimeoutBehavior? TimeoutBehavior { get; init; }

    /// <summary>Retry once on a fresh worker after a timeout. Default: <see cref="WorkerPoolOptions.RetryOnTimeout"/>.</summary>
    public bool? RetryOnTimeout { get; init; }
}
