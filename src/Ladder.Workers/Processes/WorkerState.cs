namespace Ladder.Workers.Processes;

/// <summary>Where a worker is in the pool's bookkeeping; changed only under the pool's lock.</summary>
internal enum WorkerState
{
    Starting,
    Idle,
    Busy,
    Spare,
    Quarantined,

    /// <summary>Known dead (exit, end of stdout, broken stdin) and out of rotation; its fault is not yet accounted for.</summary>
    Dead,
    Retired,
}
