namespace Ladder.Workers;

/// <summary>Why a worker process ended during a call.</summary>
public enum WorkerExitReason
{
    /// <summary>The process exited by itself (see the exit code).</summary>
    Exited = 0,

    /// <summary>The process was ended by a signal: <c>Environment.FailFast</c> and stack overflow abort (SIGABRT), SIGKILL from outside.</summary>
    Signal = 1,

    /// <summary>A handler allocated past the worker's heap cap; the worker host ended the process.</summary>
    OutOfMemory = 2,

    /// <summary>The worker host received a frame it could not accept and exited.</summary>
    ProtocolError = 3,
}
