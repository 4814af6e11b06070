using System.Globalization;

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
