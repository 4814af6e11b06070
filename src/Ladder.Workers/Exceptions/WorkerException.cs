namespace Ladder.Workers;

/// <summary>The base of every error Ladder.Workers raises. Caller cancellation is never one of these.</summary>
public class WorkerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public WorkerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public WorkerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The operation of the failed call, when there was one.</summary>
    public string? Operation { get; init; }

    /// <summary>The worker's process id, when a worker was involved.</summary>
    public int? ProcessId { get; init; }
}
