using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Ladder.Sample.Replays;
using Ladder.Workers;
using Microsoft.Extensions.Options;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// The sample's parse path on its own: the real Ladder.Workers pool running the sample executable's worker role.
/// The old system's timeout never killed the stuck worker and re-ran the parse on the event loop; here the deadline
/// ends the call, the result says it timed out, and the pool is whole again for the next call.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ParserPoolTests
{
    private static readonly ReplaySpec Spec = new(5, new ReplayPlayer(1, "Bisu", Race.Protoss), new ReplayPlayer(2, "Stork", Race.Protoss), 0);

    // Long enough that a valid parse in a worker stalled for a moment by a busy machine is not cut off, short enough
    // that the stuck parse's test waits only a few seconds.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    private WorkerPool _pool = null!;
    private ReplayParsing _parsing = null!;

    [OneTimeSetUp]
    public async Task StartPool()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        var options = new LadderOptions { ParseDeadline = Deadline, WorkerCount = 2, WorkerMemoryLimitMb = 128 };
        var pool = new WorkerPoolOptions
        {
            WorkerPath = SampleHostProcess.HostAssembly,
            WorkerCount = options.WorkerCount,
            DefaultDeadline = options.ParseDeadline,
            HeapHardLimitBytes = options.WorkerMemoryLimitMb * 1024L * 1024L,
        };
        pool.Arguments.Add(WorkerHost.WorkerSwitch);
        _pool = new WorkerPool(pool);
        await _pool.WhenReadyAsync(ct);
        _parsing = new ReplayParsing(_pool, Options.Create(options));
    }

    [OneTimeTearDown]
    public async Task StopPool()
    {
        var pids = _pool.GetStats().ProcessIds;
        await _pool.DisposeAsync();
        pids.Where(ProcessTree.IsAlive).Should().BeEmpty("disposing the pool ends every worker");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FastParse_CompletesWithoutATimeout(CancellationToken ct)
    {
        var outcome = await _parsing.ParseAsync(ReplayGenerator.Create(Spec), ct);

        outcome.TimedOut.Should().BeFalse();
        outcome.Reply!.Summary!.MatchId.Should().Be(5);
        outcome.Reply.Summary.WinnerId.Should().Be(1);
        outcome.RunDuration.Should().BeLessThan(outcome.Deadline);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StuckParse_TimesOutAtTheDeadline_TheResultSaysSo_AndThePoolHeals(CancellationToken ct)
    {
        var before = _pool.GetStats();
        var started = TimeProvider.System.GetTimestamp();

        var outcome = await _parsing.ParseAsync(ReplayGenerator.CreateHanging(Spec), ct);

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        outcome.TimedOut.Should().BeTrue();
        outcome.Reply.Should().BeNull();
        outcome.Deadline.Should().Be(Deadline);
        elapsed.Should().BeLessThan(Deadline + TimeSpan.FromSeconds(10), "the deadline, a grace and a kill; not the parse's ages");
        await Eventually.WaitAsync(_ => Task.FromResult(ProcessTree.IsAlive(outcome.WorkerProcessId)), static alive => !alive,
            TimeSpan.FromSeconds(15), ct, "the stuck worker to be killed");
        _pool.GetStats().Timeouts.Should().Be(before.Timeouts + 1);

        var next = await _parsing.ParseAsync(ReplayGenerator.Create(Spec with { Seed = 11 }), ct);
        next.TimedOut.Should().BeFalse("the next call runs on a healthy pool");
        next.Reply!.Summary.Should().NotBeNull();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CorruptReplay_IsAnAnswerWithTheReason_NotACrash(CancellationToken ct)
    {
        var outcome = await _parsing.ParseAsync(ReplayGenerator.Corrupt(ReplayGenerator.Create(Spec)), ct);

        outcome.TimedOut.Should().BeFalse();
        outcome.Reply!.Summary.Should().BeNull();
        outcome.Reply.ErrorCode.Should().BeOneOf("BadCompression", "ChecksumMismatch", "LengthMismatch");
        outcome.Reply.Error.Should().NotBeNullOrWhiteSpace();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DecompressionBomb_HitsTheHeapCap_AndFailsThatCallOnly(CancellationToken ct)
    {
        // A generous deadline, so what stops the bomb is the heap cap, not the clock, even on a busy machine.
        var patient = new ReplayParsing(_pool, Options.Create(new LadderOptions { ParseDeadline = TimeSpan.FromSeconds(30) }));
        var bomb = ReplayGenerator.CreateDecompressionBomb(Spec);

        var act = () => patient.ParseAsync(bomb, ct);

        var crash = (await act.Should().ThrowAsync<WorkerCrashedException>()).Which;
        crash.Reason.Should().Be(WorkerExitReason.OutOfMemory);
        (await _parsing.ParseAsync(ReplayGenerator.Create(Spec with { Seed = 12 }), ct)).Reply!.Summary.Should().NotBeNull();
    }
}
