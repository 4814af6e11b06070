using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (b), Ladder: the publishing modes of the PostgreSQL backplane, then the raw floor.</summary>
internal static partial class Throughput
{
    /// <summary>Changes published on A and not yet applied on B, at most: the full-speed publisher waits beyond it (bounded memory).</summary>
    private const int Outstanding = 50_000;

    private const string LadderRowsSince = "SELECT count(*) FROM ladder.cache_changes WHERE seq > $1";
    private const string LadderMaxSequence = "SELECT coalesce(max(seq), 0) FROM ladder.cache_changes WHERE seq > $1";

    private static IEnumerable<Func<Task<IPublishMode>>> Modes(string connectionString, NpgsqlDataSource dataSource) =>
    [
        () => LadderPublishMode.StartAsync("Ladder `Publish` after commit, default `PublishWindow` (1 ms)", connectionString, dataSource, _ => { }),
        () => LadderPublishMode.StartAsync("Ladder `Publish` after commit, `PublishWindow = 10 ms`", connectionString, dataSource, o => o.PublishWindow = TimeSpan.FromMilliseconds(10)),
        () => LadderPublishMode.StartAsync("Ladder `Publish` after commit, `PublishWindow = 0` (minimal)", connectionString, dataSource, o => o.PublishWindow = TimeSpan.Zero),
        () => LadderOutboxMode.StartAsync(connectionString, dataSource),
        () => Task.FromResult<IPublishMode>(new RawNotifyMode(dataSource)),
    ];

    /// <summary>
    /// Node A publishes after commit (<see cref="LadderCache.Publish(in Change)"/>, one change per call); node B applies.
    /// Full speed: one publisher, as fast as B keeps up (at most <see cref="Outstanding"/> changes not yet applied on
    /// B). Paced: <see cref="Publishers"/> publishers, one change per interval each. Counts what B applied within the phase.
    /// </summary>
    private sealed class LadderPublishMode : IPublishMode
    {
        private readonly NpgsqlDataSource _dataSource;
        private readonly LadderNode _a;
        private readonly LadderNode _b;
        private readonly SemaphoreSlim _room = new(Outstanding);
        private long _applied;

        private LadderPublishMode(string name, NpgsqlDataSource dataSource, LadderNode a, LadderNode b)
        {
            Name = name;
            _dataSource = dataSource;
            _a = a;
            _b = b;
            _b.Applied = changes =>
            {
                Interlocked.Add(ref _applied, changes.Length);
                _room.Release(changes.Length);
            };
        }

        public string Name { get; }

        public static async Task<IPublishMode> StartAsync(string name, string connectionString, NpgsqlDataSource dataSource, Action<PostgresBackplaneOptions> configure)
        {
            var a = await LadderNode.StartAsync("bench-a", connectionString, _ => 0, configure);
            var b = await LadderNode.StartAsync("bench-b", connectionString, _ => 0);
            return new LadderPublishMode(name, dataSource, a, b);
        }

        public async Task<(long Publishes, long Rows)> RunAsync(TimeSpan phase, TimeSpan? paced, CancellationToken cancellationToken)
        {
            var start = await CountAsync(_dataSource, LadderMaxSequence, 0);
            var before = Interlocked.Read(ref _applied);
            long published = 0;
            if (paced is null)
            {
                var stopwatch = Stopwatch.StartNew();
                while (stopwatch.Elapsed < phase)
                {
                    if (!await _room.WaitAsync(TimeSpan.FromTicks(Math.Max(0, (phase - stopwatch.Elapsed).Ticks)), cancellationToken))
                    {
                        break;
                    }

                    _a.Publish($"item:{published++ % 10_000}");
                }
            }
            else
            {
                published = await ClosedLoopsAsync(phase, paced, (publisher, n) =>
                {
                    _a.Publish($"item:{publisher}-{n % 1000}");
                    return Task.CompletedTask;
                });
            }

            var delivered = Interlocked.Read(ref _applied) - before;
            var rows = await CountAsync(_dataSource, LadderRowsSince, start);
            // Drain before the next phase, so it starts on an idle server (bounded).
            for (var wait = 0; Interlocked.Read(ref _applied) - before < published && wait < 500; wait++)
            {
                await Task.Delay(20, CancellationToken.None);
            }

            return (delivered, rows);
        }

        public async ValueTask DisposeAsync()
        {
            await _a.DisposeAsync();
            await _b.DisposeAsync();
            _room.Dispose();
        }
    }

    /// <summary>
    /// <see cref="Publishers"/> clients on node A, each committing transactions that only publish one change inside
    /// themselves (<see cref="PostgresBackplane.PublishInTransactionAsync"/>, then <see cref="PostgresBackplane.ApplyLocally"/>):
    /// one row and one NOTIFY per publish, the package's unbatched path.
    /// </summary>
    private sealed class LadderOutboxMode : IPublishMode
    {
        private readonly NpgsqlDataSource _dataSource;
        private readonly LadderNode _a;
        private readonly LadderNode _b;
        private long _applied;

        private LadderOutboxMode(NpgsqlDataSource dataSource, LadderNode a, LadderNode b)
        {
            _dataSource = dataSource;
            _a = a;
            _b = b;
            _b.Applied = changes => Interlocked.Add(ref _applied, changes.Length);
        }

        public string Name => $"Ladder `PublishInTransactionAsync` (outbox), one change per transaction, {Publishers} clients";

        public static async Task<IPublishMode> StartAsync(string connectionString, NpgsqlDataSource dataSource)
        {
            var a = await LadderNode.StartAsync("bench-a", connectionString, _ => 0);
            var b = await LadderNode.StartAsync("bench-b", connectionString, _ => 0);
            return new LadderOutboxMode(dataSource, a, b);
        }

        public async Task<(long Publishes, long Rows)> RunAsync(TimeSpan phase, TimeSpan? paced, CancellationToken cancellationToken)
        {
            var start = await CountAsync(_dataSource, LadderMaxSequence, 0);
            var before = Interlocked.Read(ref _applied);
            var connections = new NpgsqlConnection[Publishers];
            for (var p = 0; p < Publishers; p++)
            {
                connections[p] = await _dataSource.OpenConnectionAsync(cancellationToken);
            }

            var committed = await ClosedLoopsAsync(phase, paced, async (publisher, n) =>
            {
                Change[] changes = [new("item", $"item:{publisher}-{n % 1000}", "version")];
                await using var transaction = await connections[publisher].BeginTransactionAsync(cancellationToken);
                await _a.Backplane.PublishInTransactionAsync(transaction, changes, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                _a.Backplane.ApplyLocally(changes);
            });
            var rows = await CountAsync(_dataSource, LadderRowsSince, start);
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            for (var wait = 0; Interlocked.Read(ref _applied) - before < committed && wait < 500; wait++)
            {
                await Task.Delay(20, CancellationToken.None);
            }

            if (Interlocked.Read(ref _applied) - before < committed)
            {
                Console.WriteLine($"  (outbox: B applied {Interlocked.Read(ref _applied) - before} of {committed} committed changes 10 s after the phase)");
            }

            return (committed, rows);
        }

        public async ValueTask DisposeAsync()
        {
            await _a.DisposeAsync();
            await _b.DisposeAsync();
        }
    }
}
