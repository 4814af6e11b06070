// The dummy worker the Ladder.Workers tests and benchmarks start: one handler per way a real worker can behave or fail.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Ladder.Workers;
using Ladder.Workers.TestWorker;

if (Environment.GetEnvironmentVariable("TESTWORKER_START_DELAY_MS") is { } delay)
{
    // Slow start: the pool's start-up timeout and warm spare are measured against this.
    Thread.Sleep(int.Parse(delay, CultureInfo.InvariantCulture));
}

if (Environment.GetEnvironmentVariable("TESTWORKER_START_GATE") is { } gate)
{
    // Held start: a worker started while the gate file exists waits until the test removes it (see StartGate in the
    // tests), so a replacement spawned during a test cannot join the pool before the test lets it.
    while (File.Exists(gate))
    {
        Thread.Sleep(20);
    }
}

if (Environment.GetEnvironmentVariable("TESTWORKER_EXIT_AT_START") is { } exitCode)
{
    // A worker that dies before its handshake, every time: feeds the restart-storm breaker.
    Console.Error.WriteLine("test worker: exiting at start as asked");
    return int.Parse(exitCode, CultureInfo.InvariantCulture);
}

if (Environment.GetEnvironmentVariable("TESTWORKER_DETACH_THEN_EXIT") is { } pidFile)
{
    // A worker that sends its handshake and exits right after it, leaving a grandchild (a session of its own) that
    // holds its stdout open: only the exit can tell the pool it is gone.
    using var child = Process.Start(new ProcessStartInfo("setsid", "sleep 600") { UseShellExecute = false })!;
    File.WriteAllText(pidFile, child.Id.ToString(CultureInfo.InvariantCulture));
    _ = new Timer(static _ => Environment.Exit(3), null, 300, Timeout.Infinite);
}

if (args is ["--raw-echo"])
{
    // The benchmarks' floor: a hand-written length-prefixed echo over the same pipes, no framework at all.
    using var input = Console.OpenStandardInput();
    using var output = Console.OpenStandardOutput();
    var header = new byte[4];
    var body = new byte[1 << 20];
    while (input.ReadAtLeast(header, 4, throwOnEndOfStream: false) == 4)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        input.ReadExactly(body, 0, length);
        output.Write(header);
        output.Write(body, 0, length);
        output.Flush();
    }

    return 0;
}

if (args is ["--once"])
{
    // Spawn-per-call: read the request, answer, exit (what a process-per-call design does for every call).
    using var input = Console.OpenStandardInput();
    using var output = Console.OpenStandardOutput();
    input.CopyTo(output);
    return 0;
}

if (!WorkerHost.IsWorkerInvocation(args))
{
    Console.Error.WriteLine($"usage: Ladder.Workers.TestWorker {WorkerHost.WorkerSwitch}");
    return 2;
}

var retained = new List<byte[]>();

// Past the heap cap (DOTNET_GCHeapHardLimit) this throws OutOfMemoryException.
int AllocatePastTheCap()
{
    for (var i = 0; i < 1_000_000; i++)
    {
        retained.Add(GC.AllocateArray<byte>(4 * 1024 * 1024, pinned: false));
        retained[^1].AsSpan().Fill(1);
    }

    return retained.Count;
}

return await new WorkerHost()
    .Map<EchoRequest, EchoResponse>("echo", (request, _) => new EchoResponse(request.Text, Environment.ProcessId))
    .MapBytes("bytes", (payload, _) => Task.FromResult(payload.ToArray()))
    .Map<int, int>("noop", (value, _) => value)
    .Map<SleepRequest, int>("sleep", async (request, ct) =>
    {
        // Honours cancellation: stops as soon as the pool's cancel frame arrives.
        await Task.Delay(request.Ms, ct);
        return Environment.ProcessId;
    })
    .Map<SleepRequest, int>("cancel-throws", async (request, ct) =>
    {
        // Honours cancellation, but one of its cancellation callbacks throws: the handler's bug, not the worker's.
        using var registration = ct.Register(static () => throw new InvalidOperationException("a cancellation callback failed"));
        await Task.Delay(request.Ms, ct);
        return Environment.ProcessId;
    })
    .Map<SleepRequest, int>("block", (request, ct) =>
    {
        // Synchronous and honours cancellation: blocks its thread until the cancel frame arrives (or the time is up).
        ct.WaitHandle.WaitOne(request.Ms);
        ct.ThrowIfCancellationRequested();
        return Environment.ProcessId;
    })
    .Map<SleepRequest, int>("hang", (request, _) =>
    {
        // Ignores cancellation: only a kill ends it early.
        Thread.Sleep(request.Ms);
        return Environment.ProcessId;
    })
    .Map<int, int>("exit", (code, _) =>
    {
        Console.Error.WriteLine($"test worker: exiting with {code}");
        Environment.Exit(code);
        return 0;
    })
    .Map<int, int>("failfast", (_, _) =>
    {
        Environment.FailFast("test worker: fail fast requested");
        return 0;
    })
    .Map<int, int>("overflow", (depth, _) => Recurse(depth))
    .Map<int, int>("alloc", (_, _) => AllocatePastTheCap())
    .Map<int, int>("alloc-exit-blocked", (_, _) =>
    {
        // "alloc" from code that also hooked the process's exit and blocks there (a library flushing to a dead
        // endpoint, say): a worker that ended through the runtime's orderly shutdown would wait for that hook for ever.
        AppDomain.CurrentDomain.ProcessExit += static (_, _) => Thread.Sleep(Timeout.Infinite);
        return AllocatePastTheCap();
    })
    .Map<int, int>("retain", (megabytes, _) =>
    {
        // Keeps memory so the working set crosses the recycle threshold.
        var block = new byte[megabytes * 1024 * 1024];
        block.AsSpan().Fill(1);
        retained.Add(block);
        return Environment.ProcessId;
    })
    .Map<int, int>("garbage", (_, _) =>
    {
        // A raw write to the real stdout (not Console.Out, which the host moved to stderr).
        using var stdout = Console.OpenStandardOutput();
        stdout.Write("this is not a frame, just stray text\n"u8);
        stdout.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    })
    .Map<int, int>("oversized", (_, _) =>
    {
        // A well-formed header announcing a 1 GiB frame: the pool must reject it before reading the body.
        using var stdout = Console.OpenStandardOutput();
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, 1 << 30);
        stdout.Write(header);
        stdout.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    })
    .Map<string, int>("print", (text, _) =>
    {
        // Stray console output must land on stderr, never in the frames.
        Console.WriteLine(text);
        Console.Out.Flush();
        return Environment.ProcessId;
    })
    .Map<GrandchildRequest, int>("grandchild", (request, _) =>
    {
        // Starts a grandchild that inherits our stdio, records its pid, then hangs ignoring cancellation.
        using var child = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        File.WriteAllText(request.PidFile, child.Id.ToString(CultureInfo.InvariantCulture));
        Thread.Sleep(request.HangMs);
        return child.Id;
    })
    .Map<RawFrameRequest, int>("raw-frame", (request, _) =>
    {
        // A hand-made frame on the real stdout (a malformed response the pool must reject), then silence.
        using var stdout = Console.OpenStandardOutput();
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32LittleEndian(header, 9 + request.Data.Length);
        header[4] = request.Type;
        BinaryPrimitives.WriteInt64LittleEndian(header[5..], request.CallId);
        stdout.Write(header);
        stdout.Write(request.Data);
        stdout.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    })
    .Map<FloodRequest, int>("stderr-flood", (request, _) =>
    {
        // A long stderr line (with or without its end), then a marker line when the line was ended.
        Console.Error.Write(new string('x', request.Chars));
        if (request.EndLine)
        {
            Console.Error.WriteLine();
            Console.Error.WriteLine("flood done");
        }

        Console.Error.Flush();
        return Environment.ProcessId;
    })
    .Map<DetachRequest, int>("detach", (request, _) =>
    {
        // A grandchild in a session of its own (out of our process group) that inherits our stdio and outlives us.
        using var child = Process.Start(new ProcessStartInfo("setsid", "sleep 600") { UseShellExecute = false })!;
        File.WriteAllText(request.PidFile, child.Id.ToString(CultureInfo.InvariantCulture));
        return Environment.ProcessId;
    })
    .Map<string, int>("throw", (message, _) => Throw(message))
    .Map<int, int>("throw-inline", (_, _) => throw new InvalidOperationException("thrown inline"))
    .RunAsync();

[MethodImpl(MethodImplOptions.NoInlining)]
static int Recurse(int depth) => depth < 0 ? 0 : Recurse(depth + 1) + 1;

static int Throw(string message) => throw new InvalidOperationException(message);
