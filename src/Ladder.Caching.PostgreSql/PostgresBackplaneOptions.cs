namespace Ladder.Caching;

/// <summary>How a <see cref="PostgresBackplane"/> stores, sends and receives changes. Validated when the backplane is built.</summary>
public sealed class PostgresBackplaneOptions
{
    /// <summary>The schema of the change log. Default <c>ladder</c>.</summary>
    public string Schema { get; set; } = "ladder";

    /// <summary>
    /// The change log table; <c>{Table}_state</c> beside it holds the pruning mark. Default <c>cache_changes</c>.
    /// </summary>
    public string Table { get; set; } = "cache_changes";

    /// <summary>The LISTEN/NOTIFY channel. Default <c>ladder_cache</c>. Every node of one cache uses the same.</summary>
    public string Channel { get; set; } = "ladder_cache";

    /// <summary>
    /// Creates the schema and tables when they are missing (needs the CREATE privilege). Default
    /// <see langword="true"/>; when <see langword="false"/>, a missing table or privilege fails the start with
    /// <see cref="PostgresBackplaneSchemaException"/>.
    /// </summary>
    public bool CreateSchema { get; set; } = true;

    /// <summary>
    /// The debounce window: changes sent within it become one log row and one NOTIFY. Zero writes as soon as the
    /// writer is free (changes sent while a write is in flight still share the next row). Default 1 ms.
    /// </summary>
    public TimeSpan PublishWindow { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The most changes in one log row. Default 1,000.</summary>
    public int MaxChangesPerRow { get; set; } = 1000;

    /// <summary>
    /// Changes whose JSON is at most this many bytes travel inside the NOTIFY payload (PostgreSQL's limit is 8,000);
    /// bigger ones are read from the log. Default 4,000.
    /// </summary>
    public int MaxPayloadBytes { get; set; } = 4000;

    /// <summary>The first wait before reconnecting (the listener) or retrying (a write or a read). Default 100 ms.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between reconnect or retry attempts (the delay doubles up to it). Default 5 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a node looks again at a hole in the sequence (a transaction that took a sequence number and has
    /// not finished yet) until it is filled or proved empty. Default 20 ms.
    /// </summary>
    public TimeSpan HoleRecheckInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Rows read per catch-up query. Default 500.</summary>
    public int CatchUpBatchSize { get; set; } = 500;

    /// <summary>
    /// Rows older than this are pruned (never past a number a transaction that is still open may commit). Default 1 day.
    /// </summary>
    public TimeSpan RetentionAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many newest rows are kept. Default 1,000,000.</summary>
    public long RetentionMaxRows { get; set; } = 1_000_000;

    /// <summary>
    /// How often this node prunes the log (nodes take turns through an advisory lock);
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it (prune with <see cref="PostgresBackplane.PruneAsync"/>).
    /// Default 5 minutes.
    /// </summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Rows deleted per pruning statement. Default 10,000.</summary>
    public int PruneBatchSize { get; set; } = 10_000;

    /// <summary>How long disposing waits for changes not yet written. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>application_name</c> of the listener connection (visible in <c>pg_stat_activity</c>). Default <c>ladder-cache-listener</c>.</summary>
    public string ListenerApplicationName { get; set; } = "ladder-cache-listener";

    /// <summary>
    /// How long the listener waits without receiving a notification before it probes its connection (one round trip,
    /// <c>SELECT max(seq)</c> on the change log). A connection that died silently (a network partition, a NAT or
    /// firewall that dropped the flow, a frozen server: no reset reaches the client) is noticed by the probe failing
    /// or not answering within <see cref="ListenerProbeTimeout"/>; the listener then drops it, reconnects and catches
    /// up from the log. A probe that answers with a sequence beyond this node's position (a notification that never
    /// arrived) starts a catch-up too. So a node misses changes for at most about this interval plus the timeout.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables the probe (the listener then only waits, and a silently dead
    /// connection is noticed only through Npgsql or TCP keepalives). Must be positive and under 49 days. Default 15 s.
    /// </summary>
    public TimeSpan ListenerProbeInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long the listener's probe may take before the connection is treated as dead. The probe is cancelled through
    /// Npgsql, which then waits up to the connection string's <c>Cancellation Timeout</c> (default 2 s) for the server
    /// before breaking the connection, so the probe ends within about this timeout plus that one. Must be positive and
    /// under 49 days. Default 5 s.
    /// </summary>
    public TimeSpan ListenerProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Every problem in the options (empty when they are valid).</summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate() => PostgreSql.Internal.BackplaneOptionsValidation.Validate(this);
}
