using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ladder.Workers.Processes;
using Ladder.Workers.Protocol;

namespace Ladder.Workers.Tests;

public sealed class ProcessTreeTests
{
    [Test, CancelAfter(60_000)]
    public async Task Kill_WhenWorkerHasAGrandchild_KillsBoth(CancellationToken ct)
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"ladder-grandchild-{Guid.NewGuid():N}.pid");
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        try
        {
            var result = await pool.InvokeAsync<GrandchildRequest, int>(
                "grandchild", new GrandchildRequest(pidFile, 60_000), new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(2) }, ct);

            result.WasTimeout.Should().BeTrue();
            var grandchild = int.Parse(await File.ReadAllTextAsync(pidFile, ct), CultureInfo.InvariantCulture);
            await pool.WhenReadyAsync(ct);
            Support.IsAlive(result.WorkerProcessId).Should().BeFalse();
            (await Support.WaitUntilDeadAsync(grandchild, TimeSpan.FromSeconds(10))).Should().BeTrue("the kill takes the worker's whole process group");
            Support.LiveMembersOfGroup(result.WorkerProcessId).Should().BeEmpty();
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task AWorkerWhosePoolIsGone_EndsItsGroup_WithWhatItsHandlersStarted([Values] bool cutInsideAFrame, CancellationToken ct)
    {
        // A killed pool cannot kill the worker's group: the worker ends at the end of its stdin, and a process its handler
        // had started, in its group, ran on (found by a black-box try: a pool killed with SIGKILL left 'sleep 1000'
        // running). Here the worker is started as the pool starts it (setsid, piped stdio), and its stdin is closed as a
        // dying pool's is: at the end of a frame, or inside one (a pool killed while it wrote a large call).
        ProcessTree.UsesProcessGroups.Should().BeTrue("the test machine has setsid");
        var pidFile = Path.Combine(Path.GetTempPath(), $"ladder-pool-gone-{Guid.NewGuid():N}.pid");
        // The pool's own start info: setsid, the host, the worker, its switch, piped stdio, its environment.
        var info = WorkerProcess.CreateStartInfo(Support.Options());
        info.FileName.Should().Be(ProcessTree.SetsidPath);
        using var worker = Process.Start(info)!;
        var stderr = worker.StandardError.ReadToEndAsync(ct);
        try
        {
            var stdin = worker.StandardInput.BaseStream;
            var stdout = worker.StandardOutput.BaseStream;
            FrameIO.Read(stdout, 1 << 20)!.Value.Type.Should().Be(FrameType.Hello);
            var request = JsonSerializer.SerializeToUtf8Bytes(new GrandchildRequest(pidFile, 0), JsonSerializerOptions.Web);
            FrameIO.Write(stdin, FrameType.Call, 1, Messages.CallPrefix("grandchild"), request, 1 << 20);
            stdin.Flush();
            FrameIO.Read(stdout, 1 << 20)!.Value.Type.Should().Be(FrameType.Result, "the handler started its child and returned");
            var grandchild = int.Parse(await File.ReadAllTextAsync(pidFile, ct), CultureInfo.InvariantCulture);
            Support.LiveMembersOfGroup(worker.Id).Should().Contain(grandchild, "a handler's child is in the worker's group");

            if (cutInsideAFrame)
            {
                stdin.Write([200, 0, 0, 0, (byte)FrameType.Call]);
                stdin.Flush();
            }

            worker.StandardInput.Close();
            await worker.WaitForExitAsync(ct);

            worker.ExitCode.Should().Be(128 + 9, "the worker ends its group with SIGKILL, itself included");
            (await Support.WaitUntilDeadAsync(grandchild, TimeSpan.FromSeconds(10))).Should().BeTrue("the worker ended its group, its handler's child with it");
            Support.LiveMembersOfGroup(worker.Id).Should().BeEmpty();
            (await stderr).Should().Contain("the pool is gone; ending this worker's process group (1 other process(es))");
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
            }

            if (File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile, CancellationToken.None), out var left) && Support.IsAlive(left))
            {
                using var orphan = Process.GetProcessById(left);
                orphan.Kill();
            }

            File.Delete(pidFile);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task Start_OnLinux_PutsEachWorkerInItsOwnProcessGroup(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(workers: 2), ct);

        var pids = pool.GetStats().ProcessIds;

        pids.Should().HaveCount(3);
        foreach (var pid in pids)
        {
            Support.LiveMembersOfGroup(pid).Should().Equal([pid], "the worker leads its own group");
        }
    }
}
