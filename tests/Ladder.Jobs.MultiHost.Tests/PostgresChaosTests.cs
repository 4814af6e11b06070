using System.Globalization;
using Ladder.Jobs.MultiHost.Tests.Support;

namespace Ladder.Jobs.MultiHost.Tests;

/// <summary>
/// Three host processes on one PostgreSQL database, killed with SIGKILL and restarted while they work; every
/// connection terminated once and the server restarted once mid-run; one host's clock ten minutes ahead throughout.
/// </summary>
public sealed class PostgresChaosTests
{
    private static async Task<ChaosStore> OpenAsync(string folder, CancellationToken ct) => await PostgresChaosStore.StartAsync(ct);

    [Test]
    [CancelAfter(300_000)]
    public async Task ThreeHostsOnOneDatabase_KilledRestartedTerminatedAndServerRestarted_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce_DuplicatesOnlyAfterKills(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, new ChaosPlan { Jobs = 3_000, Kills = 4 }, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public async Task Soak_ThreeHostsOnOneDatabase_KilledRestartedTerminatedAndServerRestarted_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, ChaosPlan.Soak(), ct);

    [Test]
    [CancelAfter(180_000)]
    public async Task ANodeStartedWhileTheServerIsDown_WaitsForIt_ThenRunsEveryJob(CancellationToken ct)
    {
        // The chaos run's first version lost a node this way: restarted while pg_ctl restarted the server, it died
        // before "ready" (exit 134, the open's PostgresJobStoreException unhandled). A host sets OpenRetryLimit.
        const int Jobs = 20;
        var folder = Directory.CreateTempSubdirectory("ladder-chaos-down-").FullName;
        try
        {
            await using (var store = await PostgresChaosStore.StartAsync(ct))
            {
                await store.Queue.EnqueueBatchAsync([.. Enumerable.Range(0, Jobs).Select(i => new JobRequest("chaos-job", string.Create(CultureInfo.InvariantCulture, $"{{\"Number\":{i}}}")))], ct);
                await store.Server.StopAsync("fast", ct);
                var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
                using var node = NodeProcess.Start("n1.1", Path.Combine(folder, "n1.1.log"), [.. store.NodeArguments, .. new ChaosPlan { Jobs = Jobs, Kills = 0 }.NodeArguments()], line =>
                {
                    stderr.Enqueue(line);
                    if (line.Contains("[3108]", StringComparison.Ordinal))
                    {
                        waiting.TrySetResult();
                    }
                });
                var ready = node.WaitReadyAsync(ct);

                // Its first attempt failed and it waits (logged, event 3108), alive: then the server comes back.
                // A node that gave up at once fails here (it exited before it was ready), not at the test's ceiling.
                if (await Task.WhenAny(waiting.Task.WaitAsync(ct), ready) == ready)
                {
                    await ready;
                }

                ready.IsCompleted.Should().BeFalse("the node cannot be ready while its server is down");
                node.HasExited.Should().BeFalse();
                await store.Server.StartAgainAsync(ct);
                await ready;

                while (await SucceededAsync(store, ct) < Jobs)
                {
                    // Pacing the reads of the count, not waiting for an effect: the loop ends on the store's count.
                    await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
                }

                (await node.StopAsync(ct)).Should().Be(0, "it stops gracefully; its log: " + string.Join(" | ", stderr.Take(20)));
            }

            Processes.Matching(folder).Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<long> SucceededAsync(ChaosStore store, CancellationToken ct)
    {
        try
        {
            return (await store.Queue.GetCountsAsync(ct)).Where(c => c.State == JobState.Succeeded).Sum(c => c.Count);
        }
        catch (Exception e) when (store.IsTransient(e))
        {
            return 0; // The orchestrator's pooled connections died with the server: read again.
        }
    }
}
