using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (b), Ladder's unbatched path: the outbox, one change per transaction.</summary>
internal static partial class Throughput
{
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
