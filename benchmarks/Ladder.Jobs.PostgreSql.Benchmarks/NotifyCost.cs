using System.Diagnostics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// (c) The cost of NOTIFY at commit: 8 concurrent producers, each committing single-job transactions (an INSERT, and
/// a pg_notify in the same transaction when the variant says so) for a fixed time; one listener drains the
/// notifications. PostgreSQL serialises the commits of notifying transactions on one lock (the notification queue),
/// so the question is what that costs when every enqueue notifies, and when the wake-up is debounced.
/// </summary>
internal static class NotifyCost
{
    public enum Variant
    {
        None,
        Every,
        Debounced,

        /// <summary>A NOTIFY per enqueue, but in a transaction of its own after the enqueue committed, with synchronous_commit off.</summary>
        EveryAfterCommitAsync,
    }

    public sealed record Result(Variant Variant, int Producers, TimeSpan Duration, long Transactions, long Notifies, List<double> CommitMs);

    public static async Task<Result> RunAsync(PostgresServer server, Variant variant, int producers, TimeSpan duration, TimeSpan debounce)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, "notifycost", maxPool: producers + 4);
        await QueueSchema.CreateAsync(dataSource);
        using var stop = new CancellationTokenSource();
        var listener = Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using (var listen = new NpgsqlCommand($"LISTEN {QueueSchema.Channel}", connection))
            {
                await listen.ExecuteNonQueryAsync();
            }

            try
            {
                while (true)
                {
                    await connection.WaitAsync(stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        long transactions = 0, notifies = 0;
        // Debounce per queue (one queue here): the first producer past the deadline takes the NOTIFY and moves it on.
        var nextNotify = Stopwatch.GetTimestamp();
        var debounceTicks = (long)(debounce.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>[producers];
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new CountdownEvent(producers);
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var mine = latencies[p] = new List<double>(100_000);
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var plain = Batch(connection, notify: false);
            await using var notifying = Batch(connection, notify: true);
            await using var after = AfterBatch(connection);
            await plain.PrepareAsync();
            await notifying.PrepareAsync();
            ready.Signal();
            await gate.Task;
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= end)
                {
                    return;
                }

                var notify = variant switch
                {
                    Variant.Every or Variant.EveryAfterCommitAsync => true,
                    Variant.Debounced => TakeNotify(ref nextNotify, now, debounceTicks),
                    _ => false,
                };
                // One batch without an explicit BEGIN is one implicit transaction: the INSERT and its NOTIFY commit together.
                if (variant == Variant.EveryAfterCommitAsync)
                {
                    await plain.ExecuteNonQueryAsync();
                    await after.ExecuteNonQueryAsync();
                }
                else
                {
                    await (notify ? notifying : plain).ExecuteNonQueryAsync();
                }

                mine.Add(Bench.ElapsedMs(now, Stopwatch.GetTimestamp()));
                Interlocked.Increment(ref transactions);
                if (notify)
                {
                    Interlocked.Increment(ref notifies);
                }
            }
        })).ToArray();
        ready.Wait();
        var start = Stopwatch.GetTimestamp();
        gate.SetResult();
        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start);
        await stop.CancelAsync();
        await listener;
        var all = latencies.SelectMany(l => l).ToList();
        all.Sort();
        return new Result(variant, producers, elapsed, transactions, notifies, all);
    }

    private static bool TakeNotify(ref long nextNotify, long now, long debounceTicks)
    {
        var next = Volatile.Read(ref nextNotify);
        return now >= next && Interlocked.CompareExchange(ref nextNotify, now + debounceTicks, next) == next;
    }

    // PostgreSQL gives a notifying transaction an XID and holds the notify lock through its commit; without
    // synchronous_commit that commit does not wait for the WAL flush, so the lock is held for less.
    private static NpgsqlBatch AfterBatch(NpgsqlConnection connection)
    {
        var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(QueueSchema.Notify) { Parameters = { new() { Value = "default" } } });
        return batch;
    }

    private static NpgsqlBatch Batch(NpgsqlConnection connection, bool notify)
    {
        var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(QueueSchema.EnqueueOne) { Parameters = { new() { Value = "default" }, new() { Value = "{\"n\":1}" } } });
        if (notify)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(QueueSchema.Notify) { Parameters = { new() { Value = "default" } } });
        }

        return batch;
    }
}
