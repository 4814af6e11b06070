using System.Buffers.Binary;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using CliWrap;

namespace Ladder.Workers.Benchmarks;

/// <summary>
/// A tiny request to a no-op handler: Ladder's pool vs the floor (a hand-written length-prefixed echo over a child's
/// pipes) and vs spawning a process per call with CliWrap (what a naive .NET user does).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessShortRun))]
public class CallOverheadBenchmarks
{
    private static readonly byte[] Request = new byte[16];
    private readonly byte[] _header = new byte[4];
    private readonly byte[] _body = new byte[64];
    private Process _raw = null!;
    private Stream _rawIn = null!;
    private Stream _rawOut = null!;
    private WorkerPool _pool = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _raw = Process.Start(new ProcessStartInfo("dotnet", [Paths.TestWorker, "--raw-echo"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        _rawIn = _raw.StandardInput.BaseStream;
        _rawOut = _raw.StandardOutput.BaseStream;
        _pool = new WorkerPool(Paths.Options(workers: 1));
        await _pool.WhenReadyAsync();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _rawIn.Dispose();
        await _raw.WaitForExitAsync();
        _raw.Dispose();
        await _pool.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw pipe echo (floor)")]
    public async Task<int> RawPipeEcho()
    {
        BinaryPrimitives.WriteInt32LittleEndian(_header, Request.Length);
        await _rawIn.WriteAsync(_header);
        await _rawIn.WriteAsync(Request);
        await _rawIn.FlushAsync();
        await _rawOut.ReadExactlyAsync(_header);
        var length = BinaryPrimitives.ReadInt32LittleEndian(_header);
        await _rawOut.ReadExactlyAsync(_body.AsMemory(0, length));
        return length;
    }

    [Benchmark(Description = "Ladder InvokeBytesAsync")]
    public async Task<int> LadderBytes() => (await _pool.InvokeBytesAsync("bytes", Request)).Value.Length;

    [Benchmark(Description = "Ladder InvokeAsync<int,int> (JSON)")]
    public async Task<int> LadderTyped() => (await _pool.InvokeAsync<int, int>("noop", 42)).Value;

    [Benchmark(Description = "CliWrap spawn per call")]
    public async Task<int> SpawnPerCall()
    {
        using var output = new MemoryStream();
        await Cli.Wrap("dotnet")
            .WithArguments([Paths.TestWorker, "--once"])
            .WithStandardInputPipe(PipeSource.FromBytes(Request))
            .WithStandardOutputPipe(PipeTarget.ToStream(output))
            .ExecuteAsync();
        return (int)output.Length;
    }

    private sealed class InProcessShortRun : ManualConfig
    {
        public InProcessShortRun()
        {
            // In-process: no per-benchmark rebuild on a busy shared machine; the children are real processes anyway.
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
        }
    }
}
