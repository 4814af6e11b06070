using Ladder.Workers.Processes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Workers.Tests;

/// <summary>
/// A worker's process group is named by its pid. Once the worker has exited and been reaped, that number is free: the
/// kernel may give it to a new process that leads its own group (another pool's worker, another user's shell job), so
/// a kill of the group sent after the exit was seen could kill a stranger.
/// </summary>
public sealed class LateKillTests
{
    [Test, CancelAfter(60_000)]
    public async Task KillAndStop_AfterTheWorkersExitWasSeen_SignalNoProcessGroup(CancellationToken ct)
    {
        ProcessTree.UsesProcessGroups.Should().BeTrue("this test is about the group kill (Linux with setsid)");
        var worker = WorkerProcess.Start(Support.Options(spare: false), NullLogger.Instance, TimeProvider.System);
        await worker.HandshakeAsync().WaitAsync(TimeSpan.FromSeconds(45), ct);
        using (var process = System.Diagnostics.Process.GetProcessById(worker.Pid))
        {
            process.Kill();
        }

        await worker.Faulted.WaitAsync(TimeSpan.FromSeconds(30), ct);
        worker.HasExited.Should().BeTrue();
        var signalled = 0;
        ProcessTree.GroupKillProbe = group =>
        {
            if (group == worker.Pid)
            {
                Interlocked.Increment(ref signalled);
            }
        };
        try
        {
            (await worker.KillAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().BeTrue();
            (await worker.StopAsync(TimeSpan.FromSeconds(1)).WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().BeTrue();
        }
        finally
        {
            ProcessTree.GroupKillProbe = null;
        }

        Volatile.Read(ref signalled).Should().Be(0, "the group was killed when the exit was seen; its id may belong to another group now");
        worker.Release();
        Support.AssertNothingLeftOf(worker.Pid);
    }
}
