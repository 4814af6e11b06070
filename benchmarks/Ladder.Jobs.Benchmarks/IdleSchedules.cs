using System.Diagnostics;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// What idle schedules cost: 0, 1 and 1,000 daily schedules none of which ticks during the window, the scheduler running
/// on the real clock for a window each, side by side in one run: timers created and alive at once, store reads, and the
/// process's CPU time over the window.
/// </summary>
internal static class IdleSchedules
{
    public static async Task<int> RunAsync(int seconds)
    {
        var window = TimeSpan.FromSeconds(seconds);
        var folder = Path.Combine(Path.GetTempPath(), "ladder-idle-schedules", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Console.WriteLine($"idle-schedules: window {seconds} s each, RefreshInterval 1 min (the default), SQLite synchronous=FULL");
            Console.WriteLine("| schedules | timers created | alive at once (max) | store reads | CPU ms in the window | load (1 min) |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var count in new[] { 0, 1, 1000, 0, 1, 1000 })
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
                Console.WriteLine($"| {count:N0} | {time.Created - timers} | {time.MaxAlive} | {scheduler.StoreReads - reads} | {cpuMs:F0} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
                await scheduler.StopAsync(CancellationToken.None);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Counts the timers created through it, and the most alive at once.</summary>
    private sealed class CountingTimeProvider(TimeProvider inner) : TimeProvider
    {
        private int _alive;
        private int _maxAlive;
        private int _created;

        public int Created => Volatile.Read(ref _created);

        public int MaxAlive => Volatile.Read(ref _maxAlive);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            var alive = Interlocked.Increment(ref _alive);
            int max;
            while (alive > (max = Volatile.Read(ref _maxAlive)) && Interlocked.CompareExchange(ref _maxAlive, alive, max) != max)
            {
            }

            return new Counted(inner.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class Counted(ITimer timer, CountingTimeProvider owner) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref owner._alive);
                }

                timer.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
