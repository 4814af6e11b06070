using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>
/// The PostgreSQL store of Ladder.Jobs: many hosts share one queue through one database. Claims take batches with
/// <c>FOR UPDATE SKIP LOCKED</c>; leases are timed by the database clock; completions of the same moment share one
/// statement; enqueues wake other hosts by LISTEN/NOTIFY. Use it with
/// <c>services.AddLadderJobs(o => o.UsePostgres(dataSource))</c> (docs/jobs/postgresql.md).
/// </summary>
/// <remarks>
/// The store is opened by the <see cref="JobQueue"/> that owns it (<see cref="OpenAsync"/>): that creates or migrates
/// its schema under an advisory lock, so hosts starting at once never race. A database holding a newer schema is
/// refused untouched.
/// </remarks>
public sealed partial class PostgresJobStore : JobStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresJobStoreOptions _options;
    private readonly Sql _sql;
    private readonly LimitSql _limitSql;
    private readonly CancellationTokenSource _closing = new();
    private readonly bool _prepare;
    private JobStoreContext? _context;
    private ILogger _logger = NullLogger.Instance;
    private LeaseBatcher? _completions;
    private LeaseBatcher? _startMarks;
    private TimeSpan _retryLimit;
    private int _disposed;

    /// <summary>Creates a store with the default options over a data source the caller owns (and disposes after the queue).</summary>
    /// <param name="dataSource">Where the database is.</param>
    public PostgresJobStore(NpgsqlDataSource dataSource)
        : this(dataSource, ownsDataSource: false, null)
    {
    }

    /// <summary>Creates a store over a data source the caller owns (and disposes after the queue).</summary>
    /// <param name="dataSource">Where the database is.</param>
    /// <param name="options">The store's options; <see langword="null"/>: the defaults.</param>
    /// <exception cref="LadderJobsOptionsException">The options are invalid.</exception>
    public PostgresJobStore(NpgsqlDataSource dataSource, PostgresJobStoreOptions? options)
        : this(dataSource, ownsDataSource: false, options)
    {
    }

    /// <summary>Creates a store with the default options over a connection string; the store owns the data source it builds from it.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <exception cref="ArgumentException">The connection string cannot be parsed.</exception>
    public PostgresJobStore(string connectionString)
        : this(connectionString, null)
    {
    }

    /// <summary>
    /// Creates a store over a connection string; the store owns the data source it builds from it. That data source skips
    /// Npgsql's session reset when a connection goes back to its pool (<c>No Reset On Close</c>): the store leaves no
    /// session state behind, and the reset cost a round trip's worth of server work on every rental (docs/jobs/postgresql.md).
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="options">The store's options; <see langword="null"/>: the defaults.</param>
    /// <exception cref="LadderJobsOptionsException">The options are invalid.</exception>
    /// <exception cref="ArgumentException">The connection string cannot be parsed.</exception>
    public PostgresJobStore(string connectionString, PostgresJobStoreOptions? options)
        : this(NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString ?? throw new ArgumentNullException(nameof(connectionString))) { NoResetOnClose = true }), ownsDataSource: true, options)
    {
    }

    private PostgresJobStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresJobStoreOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = (options ?? new PostgresJobStoreOptions()).Copy();
        var failures = _options.Validate();
        if (failures.Count > 0)
        {
            if (ownsDataSource)
            {
                dataSource.Dispose();
            }

            throw new LadderJobsOptionsException(failures);
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _sql = new Sql(_options.Schema, _options.UseContextClock);
        _limitSql = new LimitSql(_options.Schema, _options.UseContextClock);
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Host = builder.Host ?? "localhost";
        Port = builder.Port;
        Database = builder.Database ?? builder.Username ?? "";
        Location = $"postgresql://{Host}:{Port}/{Database} (schema {_options.Schema})";

        // Npgsql refuses explicit preparation on a multiplexing data source (NotSupportedException).
        _prepare = _options.PrepareStatements && !builder.Multiplexing;
    }

    /// <inheritdoc />
    public override string Location { get; }

    /// <inheritdoc />
    public override long SchemaVersion => Migrations.Version;

    /// <summary>The schema that holds the queue's tables.</summary>
    public string Schema => _options.Schema;

    /// <inheritdoc />
    public override bool IsAvailable => Volatile.Read(ref _disposed) == 0 && _context is not null;

    internal string Host { get; }

    internal int Port { get; }

    internal string Database { get; }

    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Statements that wrote completions (tests: completions of the same moment share one).</summary>
    internal long CompletionStatements => _completions?.Statements ?? 0;

    internal PostgresJobStoreOptions Options => _options;

    private JobStoreContext Context => _context ?? throw new InvalidOperationException("The job store is not open: JobQueue.OpenAsync opens it.");

    /// <inheritdoc />
    public override async Task OpenAsync(JobStoreContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_context is not null)
        {
            throw new InvalidOperationException("The job store is already open: a store belongs to one queue.");
        }

        _logger = context.LoggerFactory.CreateLogger<PostgresJobStore>();
        _retryLimit = _options.TransientRetryLimit ?? context.Options.LeaseDuration;
        await MigrateRetryingAsync(cancellationToken).ConfigureAwait(false);
        _context = context;
        _completions = new LeaseBatcher(this, "completions", _options.MaxWriteBatch, WriteCompletionsAsync);
        _startMarks = new LeaseBatcher(this, "start marks", _options.MaxWriteBatch, (leases, _) => WriteLeasesAsync(_sql.MarkStarted, leases));
        if (_options.UseListenNotify)
        {
            await StartListeningAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.Opened(_logger, Location, Migrations.Version, _options.UseListenNotify ? "on" : "off (polling only)");
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Writes already accepted complete first (the batchers drain); only then do retries stop waiting.
        if (_completions is not null)
        {
            await _completions.DisposeAsync().ConfigureAwait(false);
        }

        if (_startMarks is not null)
        {
            await _startMarks.DisposeAsync().ConfigureAwait(false);
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        await StopListeningAsync().ConfigureAwait(false);
        await StopNotifyingAsync().ConfigureAwait(false);
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    // In context-clock mode (tests), every "now" of the SQL is the queue's clock; production sends nothing.
    private void AddNow(NpgsqlParameterCollection parameters)
    {
        if (_sql.ContextClock)
        {
            parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", Context.Time.GetUtcNow()) { NpgsqlDbType = NpgsqlDbType.TimestampTz });
        }
    }

    private NpgsqlCommand Command(string sql, NpgsqlConnection? connection = null)
    {
        var command = connection is null ? _dataSource.CreateCommand(sql) : new NpgsqlCommand(sql, connection);
        AddNow(command.Parameters);
        return command;
    }

    // The frequent statements run prepared unless PostgresJobStoreOptions.PrepareStatements is off. Npgsql keeps a
    // prepared statement on its physical connection across pool rentals, so a connection's first run of each pays one
    // more round trip and every later run skips the parse and plan (longer than the run itself for the enqueue and
    // the claim: docs/benchmarks/jobs-postgresql.md, "Prepared statements").
    private Task PrepareAsync(NpgsqlCommand command, CancellationToken cancellationToken = default) =>
        _prepare ? command.PrepareAsync(cancellationToken) : Task.CompletedTask;

    private Task PrepareAsync(NpgsqlBatch batch, CancellationToken cancellationToken = default) =>
        _prepare ? batch.PrepareAsync(cancellationToken) : Task.CompletedTask;

    private static NpgsqlParameter P(string name, object? value, NpgsqlDbType type) => new(name, type) { Value = value ?? DBNull.Value };

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
