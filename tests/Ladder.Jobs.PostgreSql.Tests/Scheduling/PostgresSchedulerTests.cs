using System.Collections.Concurrent;

namespace Ladder.Jobs.PostgreSql.Tests.Scheduling;

[JobKind("sched-tick")]
public sealed record SchedTick;

/// <summary>Three hosts on one PostgreSQL schema, each running its scheduler's loop on the real clock: one job per tick.</summary>
public sealed class PostgresSchedulerTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(120_000)]
    public async Task ThreeHostsStartingAtOnce_EachWithTheScheduleDeclared_EnqueueOneJobPerTick_NoneMissingNoneTwice(CancellationToken ct)
    {
        const int Wanted = 8;
        var schema = Server.NewName("sched_hosts");
        var schedule = JobSchedule.Every("every-second", TimeSpan.FromSeconds(1), JobRequest.For(new SchedTick()));
        var queues = new List<JobQueue>();
        var schedulers = new List<JobScheduler>();
        var processors = new List<JobProcessor>();
        var ran = new ConcurrentDictionary<long, int>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            for (var h = 0; h < 3; h++)
            {
                var queue = await JobQueue.OpenAsync(new PostgresJobStore(_database, new PostgresJobStoreOptions { Schema = schema }), new LadderJobsOptions(), cancellationToken: ct);
                queues.Add(queue);
                var options = new JobSchedulerOptions();
                options.Schedules.Add(schedule);
                schedulers.Add(new JobScheduler(queue, options));
                processors.Add(new JobProcessor(queue, new JobHandlerRegistry().Add<SchedTick>((_, context, _) =>
                {
                    ran.AddOrUpdate(context.JobId, 1, static (_, n) => n + 1);
                    if (ran.Count >= Wanted)
                    {
                        enough.TrySetResult();
                    }

                    return Task.CompletedTask;
                })));
            }

            foreach (var processor in processors)
            {
                await processor.StartAsync(ct);
            }

            using (var gate = new ManualResetEventSlim())
            {
                var starts = schedulers.Select(s => Task.Run(async () =>
                {
                    gate.Wait(ct);
                    await s.StartAsync(ct);
                }, ct)).ToArray();
                gate.Set();
                await Task.WhenAll(starts);
            }

            await enough.Task.WaitAsync(ct);
            foreach (var scheduler in schedulers)
            {
                await scheduler.StopAsync(ct);
            }

            foreach (var processor in processors)
            {
                await processor.StopAsync(ct);
            }

            var keys = new List<string>();
            foreach (var state in new[] { JobState.Ready, JobState.Succeeded, JobState.Running, JobState.Scheduled })
            {
                var page = await queues[0].GetJobsAsync(new JobQuery(state, PageSize: 500), ct);
                keys.AddRange(page.Jobs.Select(j => j.UniqueKey!));
            }

            keys.Should().OnlyHaveUniqueItems();
            var ticks = keys.Select(k => DateTimeOffset.Parse(k[(k.IndexOf('@') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
            ticks.Count.Should().BeGreaterThanOrEqualTo(Wanted);
            // On the schedule's grid from its first tick to its last, with none missing and none twice.
            var first = ticks[0];
            ticks.Should().Equal(Enumerable.Range(0, ticks.Count).Select(i => first.AddSeconds(i)));
            ran.Values.Should().OnlyContain(n => n == 1, "each tick's job ran once");
            var info = (await queues[1].GetSchedulesAsync(ct)).Should().ContainSingle().Subject;
            info.LastTick.Should().Be(ticks[^1]);
            TestContext.Progress.WriteLine($"3 hosts, {ticks.Count} ticks, {ticks.Count} jobs (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        }
        finally
        {
            foreach (var scheduler in schedulers)
            {
                await scheduler.DisposeAsync();
            }

            foreach (var processor in processors)
            {
                await processor.DisposeAsync();
            }

            foreach (var queue in queues)
            {
                await queue.DisposeAsync();
            }
        }
    }
}
