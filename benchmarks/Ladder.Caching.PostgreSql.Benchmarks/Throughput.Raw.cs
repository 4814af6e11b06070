using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (b), the floor without a library: one transaction and one NOTIFY per publish.</summary>
internal static partial class Throughput
{
    /// <summary>
    /// The floor for "one NOTIFY per publish", no library: <see cref="Publishers"/> clients each inserting one log row
    /// and notifying its sequence in one autocommit statement (one transaction, one NOTIFY per publish), and one
    /// listener connection that receives the notifications, as a node would.
    /// </summary>
    private sealed class RawNotifyMode(NpgsqlDataSource dataSource) : IPublishMode
    {
        public string Name => $"raw Npgsql: one `INSERT` + `pg_notify` per transaction, {Publishers} clients";

        public async Task<(long Publishes, long Rows)> RunAsync(TimeSpan phase, TimeSpan? paced, CancellationToken cancellationToken)
        {
            await using var listener = await dataSource.OpenConnectionAsync(cancellationToken);
            long received = 0;
            listener.Notification += (_, _) => Interlocked.Increment(ref received);
            await using (var listen = new NpgsqlCommand("LISTEN raw_bench", listener))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }

            using var stopListening = new CancellationTokenSource();
            var listening = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await listener.WaitAsync(stopListening.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }, CancellationToken.None);

            var start = await CountAsync(dataSource, "SELECT coalesce(max(seq), 0) FROM raw_log WHERE seq > $1", 0);
            var connections = new NpgsqlConnection[Publishers];
            var commands = new NpgsqlCommand[Publishers];
            for (var p = 0; p < Publishers; p++)
            {
                connections[p] = await dataSource.OpenConnectionAsync(cancellationToken);
                commands[p] = new NpgsqlCommand("WITH r AS (INSERT INTO raw_log (changes) VALUES ($1) RETURNING seq) SELECT pg_notify('raw_bench', seq::text) FROM r", connections[p]);
                commands[p].Parameters.Add(new NpgsqlParameter<string>());
                await commands[p].PrepareAsync(cancellationToken);
            }

            var sent = await ClosedLoopsAsync(phase, paced, async (publisher, n) =>
            {
                var command = commands[publisher];
                ((NpgsqlParameter<string>)command.Parameters[0]).TypedValue = $$"""[{"e":"item","k":"{{publisher}}-{{n}}","f":["version"]}]""";
                await command.ExecuteScalarAsync(cancellationToken);
            });
            var rows = await CountAsync(dataSource, "SELECT count(*) FROM raw_log WHERE seq > $1", start);
            for (var p = 0; p < Publishers; p++)
            {
                await commands[p].DisposeAsync();
                await connections[p].DisposeAsync();
            }

            // Let the last notifications arrive (bounded) before counting what the listener got.
            for (var wait = 0; Interlocked.Read(ref received) < sent && wait < 250; wait++)
            {
                await Task.Delay(20, CancellationToken.None);
            }

            await stopListening.CancelAsync();
            await listening;
            if (Interlocked.Read(ref received) < sent)
            {
                Console.WriteLine($"  (raw: the listener received {Interlocked.Read(ref received)} of {sent} notifications)");
            }

            return (sent, rows);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
