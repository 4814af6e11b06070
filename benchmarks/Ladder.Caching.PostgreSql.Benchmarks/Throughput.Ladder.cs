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
}
