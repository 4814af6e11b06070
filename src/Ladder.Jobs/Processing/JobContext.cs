using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>What a handler knows about the job it runs, and how it can snooze it.</summary>
public sealed class JobContext
{
    internal JobContext(ClaimedJob job, IServiceProvider? services)
    {
        JobId = job.Id;
        Kind = job.Kind;
        Queue = job.Queue;
        Attempt = job.Attempt;
        MaxAttempts = job.MaxAttempts;
        Rescues = job.Rescues;
        EnqueuedAt = job.CreatedAt;
        Services = services;
    }

    /// <summary>The job id.</summary>
    public long JobId { get; }

    /// <summary>The job kind.</summary>
    public string Kind { get; }

    /// <summary>The queue it runs in.</summary>
    public string Queue { get; }

    /// <summary>This attempt's number, from 1. Rescues and give-backs do not spend attempts.</summary>
    public int Attempt { get; }

    /// <summary>Attempts allowed.</summary>
    public int MaxAttempts { get; }

    /// <summary>Whether a failure now makes the job dead.</summary>
    public bool IsLastAttempt => Attempt >= MaxAttempts;

    /// <summary>Times the job's lease expired before while its handler ran (its processor died or hung).</summary>
    public int Rescues { get; }

    /// <summary>When the job was enqueued.</summary>
    public DateTimeOffset EnqueuedAt { get; }

    /// <summary>The job's service scope, when the processor runs with dependency injection.</summary>
    public IServiceProvider? Services { get; }

    internal TimeSpan? SnoozeDelay { get; private set; }

    /// <summary>
    /// Asks to run the job again after <paramref name="delay"/> without spending an attempt. Takes effect when the
    /// handler returns normally.
    /// </summary>
    /// <param name="delay">How long to wait; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public void Snooze(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        SnoozeDelay = delay;
    }
}
