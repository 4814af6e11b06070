using System.Diagnostics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// (c) Idle consumers, one job at a time: the producer inserts a job and <c>pg_notify</c>s in the same transaction;
/// measured from the producer's commit to the first consumer having claimed the job (a claim statement
/// on its own connection). "Commit" is the moment the producer sends COMMIT (the notification is delivered when
/// the commit is done, and a listener can have claimed the job before the producer has read COMMIT's answer). With N listeners every one of them wakes and tries to claim (fan-out); the polling
/// alternative claims every P ms instead.
/// </summary>
internal static class WakeLatency
{
    public sealed record Result(string Mode, int Listeners, int Samples, List<double> CommitToClaim, List<double> EnqueueToClaim, List<double> CommitToLastWake, List<double> Commit, long EmptyClaims)
    {
        /// <summary>Claims that found nothing (another listener won, or a poll of an empty queue), per measured or warm-up job.</summary>
        public double EmptyPerJob(int warmup) => EmptyClaims / (double)(Samples + warmup);
    }

    private sealed class Sample(int listeners)
    {
        public long Claimed;
        public int Attempts;
        public readonly long[] Woke = new long[listeners];
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static async Task<Result> ListenAsync(PostgresServer server, int listeners, int samples, int warmup = 20, (TimeSpan Min, TimeSpan Max)? idlePause = null)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, "wake", maxPool: listeners + 4);
        await QueueSchema.CreateAsync(dataSource);
        using var stop = new CancellationTokenSource();
        Sample? current = null;
        long empty = 0;
        var listening = new CountdownEvent(listeners);
        var tasks = Enumerable.Range(0, listeners).Select(index => Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            connection.Notification += (_, _) =>
            {
                var s = Volatile.Read(ref current);
                if (s is not null)
                {
                    s.Woke[index] = Stopwatch.GetTimestamp();
                }
            };
            await using (var listen = new NpgsqlCommand($"LISTEN {QueueSchema.Channel}", connection))
            {
                await listen.ExecuteNonQueryAsync();
            }

            await using var claim = QueueSchema.ClaimCommand(connection, 64);
            await using var complete = QueueSchema.CompleteCommand(connection);
            await claim.PrepareAsync();
            await complete.PrepareAsync();
            var ids = new List<long>();
            var tokens = new List<Guid>();
            listening.Signal();
            try
            {
                while (true)
                {
                    await connection.WaitAsync(stop.Token);
                    var s = Volatile.Read(ref current);
                    if (await QueueSchema.ClaimAsync(claim, ids, tokens) > 0)
                    {
                        if (s is not null)
                        {
                            s.Claimed = Stopwatch.GetTimestamp();
                        }

                        await QueueSchema.CompleteAsync(complete, ids, tokens);
                    }
                    else
                    {
                        Interlocked.Increment(ref empty);
                    }

                    if (s is not null && Interlocked.Increment(ref s.Attempts) == listeners)
                    {
                        s.Done.TrySetResult();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        })).ToArray();
        listening.Wait();

        var commitToClaim = new List<double>(samples);
        var enqueueToClaim = new List<double>(samples);
        var lastWake = new List<double>(samples);
        var commits = new List<double>(samples);
        await using var producer = await dataSource.OpenConnectionAsync();
        for (var i = 0; i < warmup + samples; i++)
        {
            var s = new Sample(listeners);
            Volatile.Write(ref current, s);
            var (start, commitSent, committed) = await EnqueueAsync(producer, notify: true);
            await s.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
            if (i >= warmup)
            {
                commitToClaim.Add(Bench.ElapsedMs(commitSent, s.Claimed));
                enqueueToClaim.Add(Bench.ElapsedMs(start, s.Claimed));
                lastWake.Add(Bench.ElapsedMs(commitSent, s.Woke.Max()));
                commits.Add(Bench.ElapsedMs(commitSent, committed));
            }

            // Let every consumer go back to waiting: an idle queue. With an idle pause (wake-idle: store-wake's), the
            // machine idles between jobs as it does there.
            await Task.Delay(idlePause is { } p ? p.Min + ((p.Max - p.Min) * Random.Shared.NextDouble()) : TimeSpan.FromMilliseconds(2));
        }

        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        return new Result("LISTEN/NOTIFY", listeners, samples, Sorted(commitToClaim), Sorted(enqueueToClaim), Sorted(lastWake), Sorted(commits), empty);
    }

    public static async Task<Result> PollAsync(PostgresServer server, TimeSpan poll, int samples, int warmup = 5)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, "poll", maxPool: 8);
        await QueueSchema.CreateAsync(dataSource);
        using var stop = new CancellationTokenSource();
        Sample? current = null;
        long empty = 0;
        var consumer = Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var claim = QueueSchema.ClaimCommand(connection, 64);
            await using var complete = QueueSchema.CompleteCommand(connection);
            await claim.PrepareAsync();
            await complete.PrepareAsync();
            var ids = new List<long>();
            var tokens = new List<Guid>();
            try
            {
                while (true)
                {
                    if (await QueueSchema.ClaimAsync(claim, ids, tokens) > 0)
                    {
                        var claimed = Stopwatch.GetTimestamp();
                        // Read after the claim: the sample is published before its job is enqueued.
                        var s = Volatile.Read(ref current);
                        await QueueSchema.CompleteAsync(complete, ids, tokens);
                        if (s is not null)
                        {
                            s.Claimed = claimed;
                            s.Done.TrySetResult();
                        }

                        continue;
                    }

                    Interlocked.Increment(ref empty);
                    await Task.Delay(poll, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        var commitToClaim = new List<double>(samples);
        var enqueueToClaim = new List<double>(samples);
        var commits = new List<double>(samples);
        await using var producer = await dataSource.OpenConnectionAsync();
        for (var i = 0; i < warmup + samples; i++)
        {
            // A random phase against the poll, as real enqueues have.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * poll.TotalMilliseconds));
            var s = new Sample(1);
            Volatile.Write(ref current, s);
            var (start, commitSent, committed) = await EnqueueAsync(producer, notify: false);
            await s.Done.Task.WaitAsync(poll + TimeSpan.FromSeconds(30));
            if (i >= warmup)
            {
                commitToClaim.Add(Bench.ElapsedMs(commitSent, s.Claimed));
                enqueueToClaim.Add(Bench.ElapsedMs(start, s.Claimed));
                commits.Add(Bench.ElapsedMs(commitSent, committed));
            }
        }

        await stop.CancelAsync();
        await consumer;
        return new Result($"poll every {poll.TotalMilliseconds:F0} ms", 1, samples, Sorted(commitToClaim), Sorted(enqueueToClaim), [], Sorted(commits), empty);
    }

    // One job, in a transaction with its wake-up (NOTIFY is delivered at commit): INSERT and pg_notify in one batch, then COMMIT.
    private static async Task<(long Start, long CommitSent, long Committed)> EnqueueAsync(NpgsqlConnection connection, bool notify)
    {
        var start = Stopwatch.GetTimestamp();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(QueueSchema.EnqueueOne) { Parameters = { new() { Value = "default" }, new() { Value = "{\"n\":1}" } } });
        if (notify)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(QueueSchema.Notify) { Parameters = { new() { Value = "default" } } });
        }

        await batch.ExecuteNonQueryAsync();
        var commitSent = Stopwatch.GetTimestamp();
        await transaction.CommitAsync();
        return (start, commitSent, Stopwatch.GetTimestamp());
    }

    private static List<double> Sorted(List<double> values)
    {
        values.Sort();
        return values;
    }
}
