namespace Ladder.Workers;

/// <summary>A worker could not be started: the executable failed, exited before its handshake, or was too slow.</summary>
public sealed class WorkerStartException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="stderrTail">The last lines the worker wrote to stderr.</param>
    /// <param name="innerException">The cause, if any.</param>
    public WorkerStartException(string message, string stderrTail, Exception? innerException = null)
        : base(message, innerException) => StderrTail = stderrTail;

    /// <summary>The last lines the worker wrote to stderr.</summary>
    public string StderrTail { get; }
}
