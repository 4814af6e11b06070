namespace Ladder.Jobs;

/// <summary>The life-cycle state of a job. The numeric values are stored in the database and never change.</summary>
public enum JobState
{
    /// <summary>Waiting for its run-at time (enqueued with a delay, or snoozed).</summary>
    Scheduled = 0,

    /// <summary>Ready to be claimed by a processor.</summary>
    Ready = 1,

    /// <summary>Claimed by a processor that holds its lease.</summary>
    Running = 2,

    /// <summary>The handler completed. Terminal.</summary>
    Succeeded = 3,

    /// <summary>The last attempt failed; a retry is scheduled at its run-at time.</summary>
    Failed = 4,

    /// <summary>Out of attempts, failed permanently, or poisoned (rescued too often). Terminal until retried.</summary>
    Dead = 5,

    /// <summary>Cancelled by a caller. Terminal until retried.</summary>
    Cancelled = 6,
}
