using System.Text;

namespace Ladder.Workers.Tests;

/// <summary>A response frame the pool cannot read is a protocol error: the caller gets WorkerProtocolException and the worker is killed.</summary>
public sealed class MalformedFrameTests
{
    private const byte Result = 4;
    private const byte Error = 5;
    private const byte Cancelled = 6;

    private static readonly byte[] MemoryPrefix = new byte[8];

    private static IEnumerable<TestCaseData> Frames()
    {
        yield return new TestCaseData(Result, new byte[4], "shorter").SetArgDisplayNames("a Result frame shorter than its prefix");
        yield return new TestCaseData(Cancelled, new byte[2], "shorter").SetArgDisplayNames("a Cancelled frame shorter than its prefix");
        yield return new TestCaseData(Cancelled, MemoryPrefix, "not cancelled").SetArgDisplayNames("a Cancelled frame for a call that was not cancelled");
        yield return new TestCaseData(Error, (byte[])[.. MemoryPrefix, .. "{not json"u8], "JSON").SetArgDisplayNames("an Error frame with invalid JSON");
        yield return new TestCaseData(Error, (byte[])[.. MemoryPrefix, .. "{}"u8], "error frame").SetArgDisplayNames("an Error frame without a type or message");
        yield return new TestCaseData(Result, (byte[])[.. MemoryPrefix, .. Encoding.UTF8.GetBytes("\"not a number\"")], "could not be read")
            .SetArgDisplayNames("a Result body that does not decode as the response type");
    }

    [TestCaseSource(nameof(Frames)), CancelAfter(60_000)]
    public async Task Invoke_WhenTheWorkerSendsAMalformedResponse_ThrowsProtocolErrorAndKillsTheWorker(byte type, byte[] data, string detail, CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);

        // A fresh worker numbers its calls from 1: the handler answers its own call with the hand-made frame.
        var act = () => pool.InvokeAsync<RawFrameRequest, int>("raw-frame", new RawFrameRequest(type, 1, data), Support.Generous, ct);

        var error = (await act.Should().ThrowAsync<WorkerProtocolException>()).Which;
        error.Detail.Should().Contain(detail);
        error.Operation.Should().Be("raw-frame");
        await pool.WhenReadyAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Support.AssertNothingLeftOf(error.ProcessId!.Value);
        (await pool.PidAsync()).Should().NotBe(error.ProcessId!.Value);
        var stats = pool.GetStats();
        stats.ProtocolErrors.Should().Be(1);
        stats.Kills.Should().Be(1);
    }
}
