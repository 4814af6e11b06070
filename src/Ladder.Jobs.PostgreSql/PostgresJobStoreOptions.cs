using System.Text.RegularExpressions;

namespace Ladder.Jobs;

/// <summary>Options of a <see cref="PostgresJobStore"/>. Validated when the store is created; every problem is reported at once.</summary>
public sealed partial class PostgresJobStoreOptions
{
    /// <summary>
    /// The longest schema name accepted: 50, the limit of Ladder.Caching.PostgreSql's names too. PostgreSQL takes 63
    /// bytes; the schema is also the NOTIFY channel, and the margin leaves room for a name derived from it.
    /// </summary>
    public const int MaxSchemaLength = 50;

    /// <summary>
    /// The schema that holds the queue's tables (created on open if missing). Lower-case letters, digits and
    /// underscores, starting with a letter or underscore, at most <see cref="MaxSchemaLength"/> characters, so it is
    /// never quoted. It also names the notification channel. Default: <c>ladder_jobs</c>.
    /// </summary>
    public string Schema { get; set; } = "ladder_jobs";

    /// <summary>
    /// Whether processors are woken by LISTEN/NOTIFY (an enqueue's commit wakes every host at once). Default:
    /// <see langword="true"/>. Set <see langword="false"/> behind a pooler in transaction mode (PgBouncer), which cannot
    /// keep the listening session: processors then find new jobs by polling only (<see cref="LadderJobsOptions.PollInterval"/>).
    /// </summary>
    public bool UseListenNotify { get; set; } = true;

    /// <summary>
    /// At most one NOTIFY per queue per this window from this process. NOTIFY takes a cluster-wide lock at commit,
    /// so a NOTIFY in every enqueue serialises enqueues (docs/jobs/postgresql.md). An enqueue inside the window sends
    /// none itself; one NOTIFY is sent when the window ends, so no wake-up waits longer than the window. Zero: a
    /// NOTIFY with every enqueue. Default: 100 ms. At most 10 s.
    /// </summary>
    public TimeSpan NotifyDebounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Whether the store's frequent statements (enqueues, claims, the next-run query, outcomes, start marks,
    /// heartbeats) run as prepared statements. Each is prepared once per physical connection (Npgsql keeps it across
    /// pool rentals), and every later run skips its parse and plan: at an idle queue that halved the enqueue's and the
    /// claim's round trips (docs/jobs/postgresql.md). Default: <see langword="true"/>. Set <see langword="false"/> behind
    /// a pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21, or without
    /// <c>max_prepared_statements</c>). Nothing is prepared on a data source with Npgsql's <c>Multiplexing</c> on (Npgsql
    /// does not prepare there).
    /// </summary>
    public bool PrepareStatements { get; set; } = true;

    /// <summary>Completions and start marks written by one statement, at most. Default: 512. 1..10,000.</summary>
    public int MaxWriteBatch { get; set; } = 512;

    /// <summary>
    /// How long an outcome whose write failed with a transient error (connection lost, server restarting) is retried,
    /// with backoff, before the store gives up and reports the error (its lease has expired by then: the job runs
    /// again elsewhere). <see langword="null"/> (default): the queue's <see cref="LadderJobsOptions.LeaseDuration"/>.
    /// </summary>
    public TimeSpan? TransientRetryLimit { get; set; }

    /// <summary>
    /// How long opening the store waits for a server that cannot be reached (down, restarting, refusing connections
    /// while it starts: <see cref="PostgresJobStoreProblem.Unreachable"/>). Attempts back off from 100 ms, doubling up
    /// to 5 s between them, each logged; past the limit the last <see cref="PostgresJobStoreException"/> is thrown.
    /// Other problems (a wrong password, a missing database, missing permissions, a newer schema) fail at once.
    /// Default: zero: one attempt, and the host's start-up decides (a host started with its database, as in a
    /// container fleet, sets e.g. 1 min). At most <see cref="LadderJobsOptions.MaxTimerValue"/>.
    /// </summary>
    public TimeSpan OpenRetryLimit { get; set; } = TimeSpan.Zero;

    /// <summary>The application name of the listening connection (so an administrator can tell it apart). Default: <c>ladder_jobs_listener</c>.</summary>
    public string ListenerApplicationName { get; set; } = "ladder_jobs_listener";

    /// <summary>How long the listening connection may stay quiet before it is probed with a round trip (a dead connection is found by it). Default: 30 s. 1 s..1 h.</summary>
    public TimeSpan ListenerProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between reconnect attempts of the listener (backoff doubles from 100 ms up to it). Default: 10 s. 100 ms..10 min.</summary>
    public TimeSpan ListenerMaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Tests only: every "now" in the store's SQL is the queue's <see cref="Storage.JobStoreContext.Time"/> reading, passed
    /// as a parameter, instead of the database clock, so a fake clock drives leases, retries and retention.
    /// </summary>
    internal bool UseContextClock { get; set; }

    /// <summary>Benchmarks only: plain claims leave the planner free to use bitmap scans (the behaviour before claims turned them off), to measure the difference side by side. The limited claim always turns them off (a stale plan read a bitmap of the whole keyed index).</summary>
    internal bool BitmapClaims { get; set; }

    /// <summary>Checks the options.</summary>
    /// <returns>Every problem found, each naming its option; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (Schema is null || Schema.Length > MaxSchemaLength || !IdentifierPattern().IsMatch(Schema))
        {
            failures.Add($"Schema must be a lower-case identifier of at most {MaxSchemaLength} characters ([a-z_][a-z0-9_]*; was '{Schema}').");
        }

        if (NotifyDebounce < TimeSpan.Zero || NotifyDebounce > TimeSpan.FromSeconds(10))
        {
            failures.Add($"NotifyDebounce must be between 0 and 10 s (was {NotifyDebounce}).");
        }

        if (MaxWriteBatch is < 1 or > 10_000)
        {
            failures.Add($"MaxWriteBatch must be between 1 and 10000 (was {MaxWriteBatch}).");
        }

        if (TransientRetryLimit is { } limit && (limit < TimeSpan.Zero || limit > LadderJobsOptions.MaxTimerValue))
        {
            failures.Add($"TransientRetryLimit must be between 0 and {LadderJobsOptions.MaxTimerValue}, or null for the lease duration (was {limit}).");
        }

        if (OpenRetryLimit < TimeSpan.Zero || OpenRetryLimit > LadderJobsOptions.MaxTimerValue)
        {
            failures.Add($"OpenRetryLimit must be between 0 and {LadderJobsOptions.MaxTimerValue} (was {OpenRetryLimit}).");
        }

        if (string.IsNullOrWhiteSpace(ListenerApplicationName) || ListenerApplicationName.Length > 63)
        {
            failures.Add("ListenerApplicationName must be 1..63 characters.");
        }

        if (ListenerProbeInterval < TimeSpan.FromSeconds(1) || ListenerProbeInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"ListenerProbeInterval must be between 1 s and 1 h (was {ListenerProbeInterval}).");
        }

        if (ListenerMaxReconnectDelay < TimeSpan.FromMilliseconds(100) || ListenerMaxReconnectDelay > TimeSpan.FromMinutes(10))
        {
            failures.Add($"ListenerMaxReconnectDelay must be between 100 ms and 10 min (was {ListenerMaxReconnectDelay}).");
        }

        return failures;
    }

    internal PostgresJobStoreOptions Copy() => (PostgresJobStoreOptions)MemberwiseClone();

    [GeneratedRegex("^[a-z_][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();
}
