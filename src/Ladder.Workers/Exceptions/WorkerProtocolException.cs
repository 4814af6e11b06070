namespace Ladder.Workers;

/// <summary>A worker broke the framing rules (oversized or malformed frame, bad handshake); it was killed and replaced.</summary>
public sealed class WorkerProtocolException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The operation, if a call was running.</param>
    /// <param name="processId">The worker.</param>
    /// <param name="detail">What was wrong with the frame.</param>
    /// <param name="stderrTail">The last lines the worker wrote to stderr.</param>
    public WorkerProtocolException(string? operation, int processId, string detail, string stderrTail)
        : base($"Worker {processId} broke the protocol{(operation is null ? "" : $" during '{operation}'")}: {detail}. It was killed.")
    {
        Operation = operation;
        ProcessId = processId;
        Detail = detail;
        StderrTail = stderrTail;
    }

    /// <summary>What was wrong with the frame.</summary>
    public string Detail { get; }

    /// <summary>The last lines the worker wrote to stderr.</summary>
    public string StderrTail { get; }
}
