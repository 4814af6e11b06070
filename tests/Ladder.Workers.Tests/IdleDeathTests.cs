using System.Diagnostics;

namespace Ladder.Workers.Tests;

/// <summary>A worker that dies while idle is never handed a call, however soon the call comes.</summary>
public sealed class IdleDeathTests
{
    [Test, CancelAfter(60_000)]
    public async Task Invoke_RightAfterAnIdleWorkerDied_RunsOnALiveWorker(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(workers: 1), ct);
        var pid = await pool.PidAsync();

        using (var worker = Process.GetProcessById(pid))
        {
            worker.Kill();
            await worker.WaitForExitAsync(ct);
        }

        // At once, before the pool may have noticed: none of these calls may see the dead worker.
        for (var i = 0; i < 5; i++)
        {
            (await pool.PidAsync()).Should().NotBe(pid);
        }

        await pool.WaitUntilAsync(s => s.Crashes == 1, ct);
        await pool.WhenReadyAsync(ct);
        Support.AssertNothingLeftOf(pid);
    }

    [Test, CancelAfter(60_000)]
    public async Task IdleWorker_WhoseOutputADetachedGrandchildHoldsOpen_IsSeenDeadByItsExit(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(workers: 1), ct);
        var pidFile = Path.Combine(Path.GetTempPath(), $"ladder-detach-{Guid.NewGuid():N}");
        var pid = (await pool.InvokeAsync<DetachRequest, int>("detach", new DetachRequest(pidFile), Support.Generous, ct)).Value;
        var grandchild = int.Parse(await File.ReadAllTextAsync(pidFile, ct), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            using (var worker = Process.GetProcessById(pid))
            {
                worker.Kill();
                await worker.WaitForExitAsync(ct);
            }

            // stdout never ends (the grandchild holds it): only the exit says the worker is gone.
            await pool.WaitUntilAsync(s => s.Crashes == 1, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
            var next = await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest("x"), new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(20) }, ct);
            next.HasValue.Should().BeTrue("the call went to a live worker, not to the dead one");
            next.WorkerProcessId.Should().NotBe(pid);
        }
        finally
        {
            using var orphan = Process.GetProcessById(grandchild);
            orphan.Kill();
            File.Delete(pidFile);
        }
    }
}
