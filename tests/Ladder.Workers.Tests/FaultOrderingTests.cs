using Ladder.Workers.Processes;
using Ladder.Workers.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Workers.Tests;

/// <summary>A call started in the instant its worker is being faulted is failed as a crash at once, never left to time out.</summary>
public sealed class FaultOrderingTests
{
    [Test, CancelAfter(60_000)]
    public async Task StartCall_WhileTheWorkerIsBeingFaulted_FailsAsACrashAtOnce(CancellationToken ct)
    {
        var worker = WorkerProcess.Start(Support.Options(spare: false), NullLogger.Instance, TimeProvider.System);
        await worker.HandshakeAsync();
        var raced = new TaskCompletionSource<CallState>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.FaultRaceProbe = () => raced.TrySetResult(worker.StartCall("echo", "{\"text\":\"x\"}"u8.ToArray(), Messages.CallPrefix("echo")));

        using (var process = System.Diagnostics.Process.GetProcessById(worker.Pid))
        {
            process.Kill();
        }

        var call = await raced.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var act = () => call.Response.Task.WaitAsync(TimeSpan.FromSeconds(20), ct);

        (await act.Should().ThrowAsync<WorkerCrashedException>("the call must not wait for a response that cannot come"))
            .Which.Operation.Should().Be("echo");
        await worker.Faulted.WaitAsync(TimeSpan.FromSeconds(30), ct);
        worker.Release();
        Support.AssertNothingLeftOf(worker.Pid);
    }
}
