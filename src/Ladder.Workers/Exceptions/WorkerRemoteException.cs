namespace Ladder.Workers;

/// <summary>The handler threw inside the worker. The worker is healthy and stays in the pool.</summary>
public sealed class WorkerRemoteException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="processId">The worker.</param>
    /// <param name="remoteType">The full type name of the remote exception.</param>
    /// <param name="remoteMessage">Its message.</param>
    /// <param name="remoteStackTrace">Its stack trace, if any.</param>
    public WorkerRemoteException(string operation, int processId, string remoteType, string remoteMessage, string? remoteStackTrace)
        : base($"'{operation}' failed in worker {processId}: {remoteType}: {remoteMessage}")
    {
        Operation = operation;
        ProcessId = processId;
        RemoteType = remoteType;
        RemoteMessage = remoteMessage;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The full type name of the exception thrown in the worker.</summary>
    public string RemoteType { get; }

    /// <summary>Its message.</summary>
    public string RemoteMessage { get; }

    /// <summary>Its stack trace in the worker, if any.</summary>
    public string? RemoteStackTrace { get; }
}
