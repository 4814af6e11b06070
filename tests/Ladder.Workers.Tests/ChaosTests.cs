using System.Collections.Concurrent;

namespace Ladder.Workers.Tests;

public sealed class ChaosTests
{
    private static readonly string[] Faults = ["sleep", "hang", "throw", "exit", "failfast", "overflow", "alloc", "garbage", "oversized"];

    [Test, CancelAfter(180_000)]
    public async Task Chaos_Bounded_EveryCallResolvesRightlyAndNothingLeaks(CancellationToken ct)
    {
        // Every kind of failure at least once, among normal calls, in a shuffled order.
        var kinds = Faults.Concat(Enumerable.Repeat("echo", 9)).OrderBy(_ => Random.Shared.Next()).ToArray();
        await RunChaosAsync(kinds, parallelism: 3, ct);
    }

    [Test, Category("Soak"), CancelAfter(900_000)]
    public async Task Chaos_Soak_ThousandCallsResolveRightlyAndNothingLeaks(CancellationToken ct)
    {
        // LADDER_SOAK_SCALE: unset or "ci" = 1,000 calls (the chaos run); "full" = 5,000; a number = that many.
        var scale = Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE");
        var calls = scale switch
        {
            null or "" or "ci" => 1000,
            "full" => 5000,
            _ => int.Parse(scale, System.Globalization.CultureInfo.InvariantCulture),
        };
        var random = new Random(20261124);

        // Mostly normal calls, about 8 % faults spread over every kind: the pool spends its time healing, not idling.
        var kinds = Enumerable.Range(0, calls).Select(_ => random.Next(100) < 8 ? Faults[random.Next(Faults.Length)] : "echo").ToArray();
        await RunChaosAsync(kinds, parallelism: 4, ct);
    }

    private static async Task RunChaosAsync(string[] kinds, int parallelism, CancellationToken ct)
    {
        var options = Support.Options(workers: 2);
        options.HeapHardLimitBytes = 96 * 1024 * 1024;
        options.CancelGrace = TimeSpan.FromMilliseconds(200);
        options.QueueCapacity = 1000;
        options.Environment["TESTWORKER_START_DELAY_MS"] = "150"; // every replacement is a slow start
        options.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        var pool = await Support.StartAsync(options, ct);
        var seen = new ConcurrentBag<int>(pool.GetStats().ProcessIds);
        var wrong = new ConcurrentQueue<string>();
        var quick = new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(300) };

        try
        {
            await Parallel.ForEachAsync(kinds.Select((kind, i) => (kind, i)), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (item, token) =>
            {
                var (kind, i) = item;
                var problem = await RunOneAsync(pool, kind, i, quick, seen, token);
                if (problem is not null)
                {
                    wrong.Enqueue($"#{i} {kind}: {problem}");
                }

                foreach (var pid in pool.GetStats().ProcessIds)
                {
                    seen.Add(pid);
                }
            });

            wrong.Should().BeEmpty("every call resolves with the right typed outcome");

            // Back to full strength, and healthy.
            await pool.WhenReadyAsync(ct);
            var stats = pool.GetStats();
            stats.Workers.Should().Be(2);
            stats.SpareReady.Should().BeTrue();
            stats.Calls.Should().Be(kinds.Length);
            (await pool.PidAsync()).Should().BePositive();
            foreach (var pid in pool.GetStats().ProcessIds)
            {
                seen.Add(pid);
            }
        }
        finally
        {
            await pool.DisposeAsync();
        }

        // The OS, not the pool's bookkeeping: no worker, no member of any worker's group, no child of ours.
        Support.AssertNothingLeft(seen);
    }

    private static async Task<string?> RunOneAsync(WorkerPool pool, string kind, int i, WorkerCallOptions quick, ConcurrentBag<int> seen, CancellationToken ct)
    {
        try
        {
            switch (kind)
            {
                case "echo":
                    var echo = await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest($"call {i}"), Support.Generous, ct);
                    seen.Add(echo.WorkerProcessId);
                    return echo.Value.Text == $"call {i}" && !echo.WasTimeout ? null : $"got {echo.Value.Text}";
                case "sleep" or "hang":
                    var slow = await pool.SleepAsync(kind, 30_000, quick, ct);
                    seen.Add(slow.WorkerProcessId);
                    return slow.WasTimeout && !slow.HasValue ? null : "no timeout";
                default:
                    if (kind == "throw")
                    {
                        await pool.InvokeAsync<string, int>("throw", "chaos", Support.Generous, ct);
                    }
                    else
                    {
                        await pool.InvokeAsync<int, int>(kind, kind == "exit" ? 17 : 0, Support.Generous, ct);
                    }


                    return "no error";
            }
        }
        catch (WorkerException ex)
        {
            if (ex.ProcessId is { } pid)
            {
                seen.Add(pid);
            }

            return (kind, ex) switch
            {
                ("throw", WorkerRemoteException) => null,
                ("exit", WorkerCrashedException { Reason: WorkerExitReason.Exited, ExitCode: 17 }) => null,
                ("failfast", WorkerCrashedException { Reason: WorkerExitReason.Signal, Signal: 6 }) => null,
                ("overflow", WorkerCrashedException { Reason: WorkerExitReason.Signal }) => null,
                ("alloc", WorkerCrashedException { Reason: WorkerExitReason.OutOfMemory }) => null,
                ("garbage" or "oversized", WorkerProtocolException) => null,
                _ => $"unexpected {ex.GetType().Name}: {ex.Message}",
            };
        }
    }
}
