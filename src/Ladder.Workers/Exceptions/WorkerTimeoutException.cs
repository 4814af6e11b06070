namespace Ladder.Workers;

/// <summary>A call's deadline passed; its worker was cancelled and, if it did not stop within the grace, killed.</summary>
public sealed class WorkerTimeoutException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="deadline">The deadline that passed.</param>
    /// <param name="processId">The worker of the last attempt.</param>
    /// <param name="attempts">Attempts made.</param>
    public WorkerTimeoutException(string operation, TimeSpan deadline, int processId, int attempts)
        : base($"'{operation}' did not finish within its deadline of {deadline.TotalMilliseconds:0} ms (attempt {attempts}, worker {processId}).")
    {
        Operation = operation;
        ProcessId = processId;
        Deadline = deadline;
        Attempts = attempts;
    }

    /// <summary>The deadline that passed.</summary>
    public TimeSpan Deadline { get; }

    /// <summary>Attempts made.</summary>
    public int Attempts { get; }
}
