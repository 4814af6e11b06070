using System.Diagnostics;
using Ladder.Testing;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// What idle schedules cost: 0, 1 and 1,000 daily schedules none of which ticks during the window, the scheduler running
/// on the real clock for a window each, side by side in one run: timers created and alive at once, store reads, and the
/// process's CPU time over the window.
/// </summary>
internal static class IdleSchedules
{
    public static async Task<int> RunAsync(int seconds, params int[] args)
    {
        var window = TimeSpan.FromSeconds(seconds);
        var folder = Path.Combine(Path.GetTempPath(), "ladder-idle-schedules", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Console.WriteLine($"idle-schedules: window {seconds} s each, RefreshInterval 1 min (the default), SQLite synchronous=FULL");
            Console.WriteLine("| schedules | timers created in the window | timers created in all | alive at once (max) | store reads in the window | CPU ms in the window | load (1 min) |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var count in args.Length > 0 ? args : [0, 1, 1000])
            {
                var time = new CountingTimeProvider(TimeProvider.System);
                await using var queue = JobQueue.Open(new LadderJobsOptions { Path = Path.Combine(folder, $"idle-{count}-{Guid.NewGuid():N}.db") }, time);
                // Daily ticks 11 to 13 hours from now: none comes during the window.
                var hour = (TimeProvider.System.GetUtcNow().Hour + 12) % 24;
                for (var i = 0; i < count; i++)
                {
                    await queue.SetScheduleAsync(JobSchedule.Cron($"daily-{i:D4}", $"{i % 60} {hour} * * *", new JobRequest("noop", "{}")));
                }

                await using var scheduler = new JobScheduler(queue);
                await scheduler.StartAsync(CancellationToken.None);
                await scheduler.WaitForWaitsAsync(1, CancellationToken.None);
                var (timers, reads, cpu) = (time.Created, scheduler.StoreReads, Process.GetCurrentProcess().TotalProcessorTime);
                await Task.Delay(window);
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                Console.WriteLine($"| {count:N0} | {time.Created - timers} | {time.Created} | {time.MaxAlive} | {scheduler.StoreReads - reads} | {cpuMs:F0} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
                await scheduler.StopAsync(CancellationToken.None);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
