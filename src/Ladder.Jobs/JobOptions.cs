namespace Ladder.Jobs;

/// <summary>Per-job options of an enqueue. Every property is optional.</summary>
public sealed class JobOptions
{
    /// <summary>The queue to run in. Default: <c>"default"</c>.</summary>
    public string? Queue { get; init; }

    /// <summary>Higher runs first among ready jobs of a queue. Default: 0.</summary>
    public int Priority { get; init; }

    /// <summary>Do not run before this time. Mutually exclusive with <see cref="Delay"/>.</summary>
    public DateTimeOffset? RunAt { get; init; }

    /// <summary>Do not run before now + this delay. Mutually exclusive with <see cref="RunAt"/>.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>How many attempts before the job is dead. Default: <see cref="LadderJobsOptions.DefaultMaxAttempts"/>.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// A key unique per kind (e.g. a replay's hash): a second enqueue with the same kind and key inserts nothing
    /// and returns the existing job, whatever its state, until retention deletes it. Not empty or white space
    /// (<see langword="null"/> means none).
    /// </summary>
    public string? UniqueKey { get; init; }

    /// <summary>
    /// The handler's token is cancelled after this long, and the attempt fails with a <see cref="JobTimeoutException"/>.
    /// Positive and at most <see cref="MaxTimeout"/> (what .NET timers take); <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// or <see langword="null"/> means none. Default: none.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// A concurrency key (e.g. a player id or a tenant): at most <see cref="ConcurrencyLimit"/> jobs with this key run at
    /// once, across every queue, process and host sharing the store. A job held back by its key is not claimed: it
    /// spends no attempt and never blocks jobs of other keys or queues. Not empty or white space, at most
    /// <see cref="MaxConcurrencyKeyLength"/> characters (<see langword="null"/> means none). See docs/jobs/concurrency.md.
    /// </summary>
    public string? ConcurrencyKey { get; init; }

    /// <summary>
    /// With <see cref="ConcurrencyKey"/>: how many jobs with the key may run at once, 1 to <see cref="MaxConcurrencyLimit"/>.
    /// Stored with the job, so every host enforces the same number; a job starts only while fewer than its own limit
    /// of jobs with its key run. Default: 1. Only valid with a key.
    /// </summary>
    public int? ConcurrencyLimit { get; init; }

    /// <summary>The largest <see cref="ConcurrencyLimit"/>: 10,000.</summary>
    public const int MaxConcurrencyLimit = 10_000;

    /// <summary>The longest <see cref="ConcurrencyKey"/>: 200 characters.</summary>
    public const int MaxConcurrencyKeyLength = 200;

    /// <summary>The longest <see cref="Timeout"/>: 4,294,967,294 ms (about 49.7 days), the limit of .NET timers.</summary>
    public static TimeSpan MaxTimeout { get; } = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
}
