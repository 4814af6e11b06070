namespace Ladder.Workers;

/// <summary>
/// The pool cannot run the call: workers keep failing to start (the restart-storm breaker is open and no worker
/// is left), or the pool was disposed while the call ran.
/// </summary>
public sealed class WorkerPoolUnavailableException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the pool is unavailable.</param>
    /// <param name="innerException">The last start failure or the error of the interrupted call, if any.</param>
    public WorkerPoolUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>When the breaker is open: the time until it tries to start a worker again.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
