namespace Ladder.Workers.Processes;

/// <summary>Where a worker is in the pool's bookkeeping; changed only under the pool's lock.</summary>
internal enum WorkerState
{
    Starting,
    Idle,
    Busy,
    Spare,
    Quarantined,
    Retired,
}
