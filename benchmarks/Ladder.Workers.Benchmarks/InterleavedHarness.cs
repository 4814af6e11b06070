using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;

namespace Ladder.Workers.Benchmarks;

/// <summary>
/// Call overhead on a shared machine: the raw pipe echo, the bytes call and the typed call alternate in rounds inside
/// one process, so a load swing hits all three alike; the figure is the median of the per-round ratios. The caller
/// blocks on a dedicated thread the way BenchmarkDotNet's AwaitHelper does (a continuation that pulses a monitor),
/// not with GetResult's spin-then-block, whose spinning takes a core from the worker on a 2-core machine.
/// </summary>
internal static class InterleavedHarness
{
    private const int Rounds = 30;
    private const int CallsPerRound = 500;

    private static readonly object Gate = new();
    private static bool _completed;

    private static void Wait(Task<int> task)
    {
        var awaiter = task.GetAwaiter();
        if (!awaiter.IsCompleted)
        {
            lock (Gate)
            {
                _completed = false;
                awaiter.UnsafeOnCompleted(static () =>
                {
                    lock (Gate)
                    {
                        _completed = true;
                        Monitor.Pulse(Gate);
                    }
                });
                while (!_completed)
                {
                    Monitor.Wait(Gate);
                }
            }
        }

        awaiter.GetResult();
    }

    public static async Task RunAsync()
    {
        await using var pool = new WorkerPool(Paths.Options(workers: 1));
        await pool.WhenReadyAsync();
        using var raw = Process.Start(new ProcessStartInfo("dotnet", [Paths.TestWorker, "--raw-echo"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var rawIn = raw.StandardInput.BaseStream;
        var rawOut = raw.StandardOutput.BaseStream;
        var header = new byte[4];
        var body = new byte[64];
        var request = new byte[16];

        async Task<int> RawEcho()
        {
            BinaryPrimitives.WriteInt32LittleEndian(header, request.Length);
            await rawIn.WriteAsync(header);
            await rawIn.WriteAsync(request);
            await rawIn.FlushAsync();
            await rawOut.ReadExactlyAsync(header);
            var length = BinaryPrimitives.ReadInt32LittleEndian(header);
            await rawOut.ReadExactlyAsync(body.AsMemory(0, length));
            return length;
        }

        async Task<int> Bytes() => (await pool.InvokeBytesAsync("bytes", request)).Value.Length;
        async Task<int> Typed() => (await pool.InvokeAsync<int, int>("noop", 42)).Value;

        Func<Task<int>>[] calls = [RawEcho, Bytes, Typed];
        var perCall = new[] { new List<double>(), new List<double>(), new List<double>() };
        var caller = new Thread(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                foreach (var call in calls)
                {
                    Wait(call());
                }
            }

            for (var round = 0; round < Rounds; round++)
            {
                for (var k = 0; k < calls.Length; k++)
                {
                    var watch = Stopwatch.StartNew();
                    for (var i = 0; i < CallsPerRound; i++)
                    {
                        Wait(calls[k]());
                    }

                    perCall[k].Add(watch.Elapsed.TotalMicroseconds / CallsPerRound);
                }
            }
        });
        caller.Start();
        caller.Join();
        rawIn.Close();
        await raw.WaitForExitAsync();

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted[sorted.Count / 2];
        }

        Console.WriteLine($"\n## Call overhead, interleaved: {Rounds} rounds of {CallsPerRound} calls each; median µs per call, median of the per-round ratios");
        Console.WriteLine("| call | µs/call | ratio to the raw echo |");
        Console.WriteLine("| --- | ---: | ---: |");
        string[] names = ["raw pipe echo (floor)", "Ladder InvokeBytesAsync", "Ladder InvokeAsync<int,int> (JSON)"];
        for (var k = 0; k < calls.Length; k++)
        {
            var ratio = Median(perCall[k].Zip(perCall[0], static (ladder, floor) => ladder / floor));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {names[k]} | {Median(perCall[k]):N1} | {ratio:N2}× |"));
        }
    }
}
