using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Ladder.Caching.PostgreSql.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Ladder.Caching;

/// <summary>
/// An invalidation backplane on PostgreSQL: every published batch of changes is a row of a change log with a
/// sequence number, and a NOTIFY tells the other nodes about it. Each node applies the rows in sequence order,
/// catches up from the log after a start, a reconnect or a gap, and invalidates everything only when the log was
/// pruned past its position. One backplane serves one <see cref="LadderCache"/> (one node).
/// </summary>
/// <remarks>
/// The data source is the caller's (not disposed here). See docs/caching/postgresql.md and docs/caching/guarantee.md.
/// </remarks>
public sealed partial class PostgresBackplane : IInvalidationBackplane, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresBackplaneOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BackplaneMetrics _metrics;
    private readonly Sql _sql;
    private readonly string _instanceSuffix = Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startGate = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<bool> _applySignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile IBackplaneSubscriber? _subscriber;
    private volatile string _instance;
    private Task _listenerTask = Task.CompletedTask;
    private Task _applierTask = Task.CompletedTask;
    private Task _prunerTask = Task.CompletedTask;
    private bool _started;
    private int _disposed;

    /// <summary>Creates the backplane (nothing connects until a cache subscribes or <see cref="StartAsync"/> is called).</summary>
    /// <param name="dataSource">Where the change log lives; its connections carry the listener, reads and writes.</param>
    /// <param name="options">The options; default <see cref="PostgresBackplaneOptions"/>'s defaults.</param>
    /// <param name="timeProvider">Every delay, backoff and timeout; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging (category <c>Ladder.Caching.PostgreSql</c>); default none.</param>
    /// <param name="meterFactory">Creates the "Ladder.Caching" meter; default a meter of its own.</param>
    /// <exception cref="PostgresBackplaneConfigurationException">The options are invalid; every problem is listed.</exception>
    public PostgresBackplane(
        NpgsqlDataSource dataSource,
        PostgresBackplaneOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new PostgresBackplaneOptions();
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new PostgresBackplaneConfigurationException(failures);
        }

        _dataSource = dataSource;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Ladder.Caching.PostgreSql");
        _metrics = new BackplaneMetrics(meterFactory);
        _sql = new Sql(options);
        _instance = "node/" + _instanceSuffix;
        _writeSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    }

    /// <summary>
    /// The last change-log sequence this node has applied: every row up to it was applied (or proved never
    /// committed), except, while the start window is open, rows at or below the start position whose transactions
    /// were open at the start (<see cref="WaitForSequenceAsync"/> waits for those too). <c>-1</c> until the node has
    /// read its starting position.
    /// </summary>
    public long Position
    {
        get
        {
            lock (_gate)
            {
                return _position;
            }
        }
    }

    /// <summary>This node's writer id in the change log: the subscribed cache's <see cref="IBackplaneSubscriber.NodeId"/> and a per-instance suffix.</summary>
    public string InstanceId => _instance;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">A cache already subscribed: one backplane serves one cache.</exception>
    public IDisposable Subscribe(IBackplaneSubscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_startGate)
        {
            if (_subscriber is not null)
            {
                throw new InvalidOperationException("A cache already subscribed to this PostgresBackplane: one backplane serves one cache (one node).");
            }

            // The id names this instance, not just the node: two processes configured with the same NodeId must not
            // skip each other's rows as their own.
            _instance = subscriber.NodeId + "/" + _instanceSuffix;
            _subscriber = subscriber;
            EnsureStarted();
        }

        return new Subscription(this, subscriber);
    }

    /// <summary>
    /// Checks the change log (creating it when <see cref="PostgresBackplaneOptions.CreateSchema"/> is on), starts
    /// listening if no cache has started it yet, and returns once this node listens and has read its starting
    /// position. Optional: a subscribing cache starts the backplane in the background; call this at start-up to
    /// get configuration errors as exceptions.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the backplane keeps starting).</param>
    /// <returns>A task that completes when the node is listening.</returns>
    /// <exception cref="PostgresBackplaneSchemaException">The table is missing or a privilege is lacking.</exception>
    /// <exception cref="NpgsqlException">The database cannot be reached.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            await EnsureSchemaAsync(connection, cancellationToken).ConfigureAwait(false);
        }

        lock (_startGate)
        {
            EnsureStarted();
        }

        await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void EnsureStarted()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var token = _stopping.Token;
        _listenerTask = Task.Run(() => ListenLoopAsync(token), CancellationToken.None);
        _applierTask = Task.Run(() => ApplyLoopAsync(token), CancellationToken.None);
        _writerTask = Task.Run(WriteLoopAsync, CancellationToken.None);
        if (_options.PruneInterval != Timeout.InfiniteTimeSpan)
        {
            _prunerTask = Task.Run(() => PruneLoopAsync(token), CancellationToken.None);
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var delay = _options.ReconnectMinDelay * Math.Pow(2, Math.Min(Math.Max(attempt - 1, 0), 20));
        return delay > _options.ReconnectMaxDelay ? _options.ReconnectMaxDelay : delay;
    }

    /// <summary>Stops listening and reading, and writes the changes not yet written (for up to <see cref="PostgresBackplaneOptions.ShutdownTimeout"/>). Harmless twice.</summary>
    /// <returns>A task that completes when every loop has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopWriterAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        _applySignal.Writer.TryComplete();
        foreach (var task in (Task[])[_listenerTask, _applierTask, _prunerTask])
        {
            // The loops never throw (they end on the stopping token); this only waits for them.
            await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_gate)
        {
            PulsePosition();
        }

        _ready.TrySetException(new ObjectDisposedException(nameof(PostgresBackplane)));
        _stopping.Dispose();
        _writerStop.Dispose();
        _windowCut.Dispose();
        _metrics.Dispose();
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed class Subscription(PostgresBackplane owner, IBackplaneSubscriber subscriber) : IDisposable
    {
        public void Dispose()
        {
            // Stops the delivery; the instance id stays, so this node's own rows are still recognised.
            if (ReferenceEquals(owner._subscriber, subscriber))
            {
                owner._subscriber = null;
            }
        }
    }
}
