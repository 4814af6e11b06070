using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>
/// Options of a job queue, its store and its processor. Validated when the queue opens, every failure listed; the queue keeps a
/// copy, so changing this object afterwards changes nothing. Every interval and grace period backs a timer and is at
/// most <see cref="MaxTimerValue"/> (about 49.7 days).
/// </summary>
public sealed class LadderJobsOptions
{
    /// <summary>
    /// SQLite store: the file. Created if missing; its directory must exist. Required unless a store is set with
    /// <see cref="UseStore(Func{JobStore})"/> (then it must stay empty).
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>SQLite store: durability of commits. Default: <see cref="SynchronousMode.Full"/>.</summary>
    public SynchronousMode Synchronous { get; set; } = SynchronousMode.Full;

    /// <summary>
    /// SQLite store: allow opening an existing SQLite file that holds other tables but no Ladder schema yet (to keep
    /// business tables and the queue in one file). Default: <see langword="false"/>: such a file is refused untouched.
    /// </summary>
    public bool ShareExistingDatabase { get; set; }

    /// <summary>The factory of the store set with <see cref="UseStore(Func{JobStore})"/>; <see langword="null"/>: the SQLite store of <see cref="Path"/>.</summary>
    internal Func<JobStore>? StoreFactory { get; private set; }

    /// <summary>
    /// Keeps the jobs in another store than the SQLite file of <see cref="Path"/> (e.g. PostgreSQL, whose package adds
    /// a <c>UsePostgres</c> shorthand). <see cref="JobQueue.Open"/>, and so <c>AddLadderJobs</c>, call the factory once
    /// and open the store it returns; the queue owns and disposes it. Handlers, enqueues, inspection and the processor
    /// are the same with every store.
    /// </summary>
    /// <param name="factory">Creates a new, unopened store (called once per queue opened).</param>
    /// <returns>These options.</returns>
    public LadderJobsOptions UseStore(Func<JobStore> factory) => UseStore(factory, null);

    /// <summary>
    /// Same as <see cref="UseStore(Func{JobStore})"/>, with the store's own option checks: <see cref="Validate()"/>
    /// lists their failures with the queue's, so <see cref="JobQueue.Open"/> throws one
    /// <see cref="LadderJobsOptionsException"/> and <c>AddLadderJobs</c> one <c>OptionsValidationException</c> at host
    /// start for both, before any store is created.
    /// </summary>
    /// <param name="factory">Creates a new, unopened store (called once per queue opened).</param>
    /// <param name="validate">Returns every problem with the store's options (empty when valid); <see langword="null"/>: none checked here.</param>
    /// <returns>These options.</returns>
    public LadderJobsOptions UseStore(Func<JobStore> factory, Func<IReadOnlyList<string>>? validate)
    {
        ArgumentNullException.ThrowIfNull(factory);
        StoreFactory = factory;
        StoreValidation = validate;
        return this;
    }

    /// <summary>The store's option checks set with <see cref="UseStore(Func{JobStore}, Func{IReadOnlyList{string}})"/>.</summary>
    internal Func<IReadOnlyList<string>>? StoreValidation { get; private set; }

    /// <summary>Queue names and their concurrency (handlers running at once). Default: <c>default</c> = 4.</summary>
    public IDictionary<string, int> Queues { get; private set; } = new Dictionary<string, int>(StringComparer.Ordinal) { ["default"] = 4 };

    /// <summary>
    /// Jobs claimed ahead of free handler slots per queue. Claims and outcomes share commits, so this is roughly the
    /// group-commit batch size: it sets throughput (see docs/benchmarks/jobs.md). Lower it when several processes
    /// share a file and jobs are long, so one process does not hold work another could start. Default: 64.
    /// </summary>
    public int Prefetch { get; set; } = 64;

    /// <summary>Attempts of a job enqueued without <see cref="JobOptions.MaxAttempts"/>. Default: 5.</summary>
    public int DefaultMaxAttempts { get; set; } = 5;

    /// <summary>How long a claim holds a job without a heartbeat. Default: 30 s.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a processor extends the leases it holds. Must be at most half of <see cref="LeaseDuration"/>. Default: 10 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often expired leases are looked for (also done on open). Default: 15 s.</summary>
    public TimeSpan RescueInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Rescues (expired leases) a job may have before it is dead as poison. Default: 3.</summary>
    public int MaxRescues { get; set; } = 3;

    /// <summary>First retry delay; doubled per attempt, with jitter. Default: 1 s.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Ceiling of the retry delay. Default: 1 h.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Backstop poll for jobs written by other processes. Default: 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On stop, how long running handlers may finish before they are interrupted and their jobs given back. Default: 10 s.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After a job's timeout, how long its handler may take to stop before the attempt is failed without it. Default: 5 s.</summary>
    public TimeSpan TimeoutGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Keep succeeded jobs this long. Default: 1 day.</summary>
    public TimeSpan SucceededRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Keep dead jobs this long. Default: 7 days.</summary>
    public TimeSpan DeadRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Keep cancelled jobs this long. Default: 1 day.</summary>
    public TimeSpan CancelledRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the processor applies retention and checkpoints the WAL; at most <see cref="MaxTimerValue"/>. Default: 5 min.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Backpressure: most <see cref="JobQueue.EnqueueAsync(JobRequest, CancellationToken)"/> and
    /// <see cref="JobQueue.EnqueueBatchAsync"/> calls waiting for the writer at once (a batch counts as one). A call past
    /// it waits for room before it is queued (its token cancels that wait, and then nothing was queued), so a burst of
    /// producers cannot grow memory without limit. 1..1,000,000. Default: 4096.
    /// </summary>
    public int MaxPendingEnqueues { get; set; } = 4096;

    /// <summary>Most operations in one group-commit transaction. Default: 512.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>The longest value of an option that backs a timer or a delay: 4,294,967,294 ms (about 49.7 days).</summary>
    public static TimeSpan MaxTimerValue { get; } = JobOptions.MaxTimeout;

    /// <summary>The longest <see cref="LeaseDuration"/>: 2 × <see cref="MaxTimerValue"/> (its heartbeat, at most half of it, is a timer).</summary>
    public static TimeSpan MaxLeaseDuration { get; } = MaxTimerValue * 2;

    /// <summary>Every problem with these options; empty when they are valid.</summary>
    /// <returns>The failures, each naming the option.</returns>
    public IReadOnlyList<string> Validate() => Validate(storeGiven: false);

    /// <summary>Every problem; <paramref name="storeGiven"/>: a store was given to <see cref="JobQueue.OpenAsync"/>, so no SQLite file is needed.</summary>
    internal IReadOnlyList<string> Validate(bool storeGiven)
    {
        var failures = new List<string>();
        void Check(bool ok, string failure)
        {
            if (!ok)
            {
                failures.Add(failure);
            }
        }

        var ownStore = storeGiven || StoreFactory is not null;
        Check(ownStore || !string.IsNullOrWhiteSpace(Path), "Path is required (the SQLite file), unless a store is set with UseStore.");
        // Path is the SQLite store's: given beside another store, one of the two is a mistake, and guessing which loses jobs.
        Check(!ownStore || string.IsNullOrEmpty(Path), $"Path is a setting of the SQLite store; a store is set (UseStore, or given to JobQueue.OpenAsync), so Path must stay empty (was '{Path}').");
        Check(Queues.Count > 0, "Queues must name at least one queue.");
        foreach (var (name, concurrency) in Queues)
        {
            Check(!string.IsNullOrWhiteSpace(name), "Queues: a queue name is empty.");
            Check(concurrency is > 0 and <= 1024, $"Queues[{name}]: concurrency must be 1..1024 (was {concurrency}).");
        }

        Check(Prefetch is >= 0 and <= 10_000, $"Prefetch must be 0..10000 (was {Prefetch}).");
        Check(DefaultMaxAttempts >= 1, $"DefaultMaxAttempts must be at least 1 (was {DefaultMaxAttempts}).");
        Check(LeaseDuration > TimeSpan.Zero && LeaseDuration <= MaxLeaseDuration, $"LeaseDuration must be positive and at most {MaxLeaseDuration} (was {LeaseDuration}).");
        // At most half the lease: one late or failed heartbeat must not let a healthy job's lease expire.
        Check(HeartbeatInterval > TimeSpan.Zero && HeartbeatInterval * 2 <= LeaseDuration, $"HeartbeatInterval must be positive and at most half of LeaseDuration (was {HeartbeatInterval}, lease {LeaseDuration}).");
        // Every value below backs a timer or a delay: beyond the timer limit it would throw inside a loop, killing it.
        CheckTimer(HeartbeatInterval, nameof(HeartbeatInterval));
        Check(RescueInterval > TimeSpan.Zero, $"RescueInterval must be positive (was {RescueInterval}).");
        CheckTimer(RescueInterval, nameof(RescueInterval));
        Check(MaxRescues >= 0, $"MaxRescues must not be negative (was {MaxRescues}).");
        Check(RetryBaseDelay >= TimeSpan.Zero, $"RetryBaseDelay must not be negative (was {RetryBaseDelay}).");
        Check(RetryMaxDelay >= RetryBaseDelay, $"RetryMaxDelay must be at least RetryBaseDelay (was {RetryMaxDelay}).");
        Check(PollInterval > TimeSpan.Zero, $"PollInterval must be positive (was {PollInterval}).");
        CheckTimer(PollInterval, nameof(PollInterval));
        Check(ShutdownGrace >= TimeSpan.Zero, $"ShutdownGrace must not be negative (was {ShutdownGrace}).");
        CheckTimer(ShutdownGrace, nameof(ShutdownGrace));
        Check(TimeoutGrace >= TimeSpan.Zero, $"TimeoutGrace must not be negative (was {TimeoutGrace}).");
        CheckTimer(TimeoutGrace, nameof(TimeoutGrace));
        Check(SucceededRetention >= TimeSpan.Zero, $"SucceededRetention must not be negative (was {SucceededRetention}).");
        Check(DeadRetention >= TimeSpan.Zero, $"DeadRetention must not be negative (was {DeadRetention}).");
        Check(CancelledRetention >= TimeSpan.Zero, $"CancelledRetention must not be negative (was {CancelledRetention}).");
        Check(MaintenanceInterval > TimeSpan.Zero, $"MaintenanceInterval must be positive (was {MaintenanceInterval}).");
        CheckTimer(MaintenanceInterval, nameof(MaintenanceInterval)); // The upkeep loop's PeriodicTimer, since it has a loop of its own.
        Check(MaxBatchSize is >= 1 and <= 100_000, $"MaxBatchSize must be 1..100000 (was {MaxBatchSize}).");
        Check(MaxPendingEnqueues is >= 1 and <= 1_000_000, $"MaxPendingEnqueues must be 1..1000000 (was {MaxPendingEnqueues}).");
        if (StoreValidation is { } store)
        {
            failures.AddRange(store());
        }

        return failures;

        void CheckTimer(TimeSpan value, string name) =>
            Check(value <= MaxTimerValue, $"{name} must be at most {MaxTimerValue}, the limit of .NET timers (was {value}).");
    }

    /// <summary>A deep copy (the queue keeps one from its open, and hands out copies).</summary>
    internal LadderJobsOptions Copy()
    {
        var copy = (LadderJobsOptions)MemberwiseClone();
        copy.Queues = new Dictionary<string, int>(Queues, StringComparer.Ordinal);
        return copy;
    }

    internal void ThrowIfInvalid()
    {
        var failures = Validate();
        if (failures.Count > 0)
        {
            throw new LadderJobsOptionsException(failures);
        }
    }
}
