namespace Ladder.Workers;

/// <summary>Per-call settings; anything left null takes the pool's default.</summary>
public sealed class WorkerCallOptions
{
    /// <summary>The longest finite <see cref="Deadline"/>: 30 days (a timer cannot hold more than ~49.7 days).</summary>
    public static readonly TimeSpan MaxDeadline = TimeSpan.FromDays(30);

    /// <summary>
    /// The call's deadline, measured from the moment a worker gets it (queue wait is not counted). Between 1 ms and
    /// <see cref="MaxDeadline"/>, or <see cref="Timeout.InfiniteTimeSpan"/> for no deadline (the caller's token still
    /// cancels the call); anything else is refused with <see cref="ArgumentOutOfRangeException"/> before the call is sent.
    /// Default: <see cref="WorkerPoolOptions.DefaultDeadline"/>.
    /// </summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>
    /// The longest this call may wait for a worker (queue and admission), over all its attempts; past it the call fails
    /// with <see cref="WorkerQueueTimeoutException"/> and is never sent. Between 1 ms and <see cref="MaxDeadline"/>, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> for no bound. Default: <see cref="WorkerPoolOptions.MaxQueueWait"/>.
    /// </summary>
    public TimeSpan? MaxQueueWait { get; init; }

    /// <summary>Result or exception on timeout. Default: <see cref="WorkerPoolOptions.TimeoutBehavior"/>.</summary>
    public WorkerTimeoutBehavior? TimeoutBehavior { get; init; }

    /// <summary>Retry once on a fresh worker after a timeout. Default: <see cref="WorkerPoolOptions.RetryOnTimeout"/>.</summary>
    public bool? RetryOnTimeout { get; init; }
}
