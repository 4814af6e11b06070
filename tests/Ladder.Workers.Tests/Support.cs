using System.Globalization;
using System.Reflection;

namespace Ladder.Workers.Tests;

/// <summary>Builds pools over the dummy worker app and looks at the OS (not the pool's bookkeeping) for leftovers.</summary>
internal static class Support
{
    public static readonly string TestWorkerPath = Path.GetFullPath(
        typeof(Support).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestWorkerPath").Value!);

    public static readonly WorkerCallOptions Generous = new() { Deadline = TimeSpan.FromSeconds(60) };

    /// <summary>
    /// A generous cancel grace for tests about a worker that honours its cancel: a clean stop ends the wait at once,
    /// and a cold first cancel on a busy machine may take a while; such tests are not about how fast it answers.
    /// </summary>
    public static readonly TimeSpan GenerousGrace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// One warm worker (no spare) whose cancels get <see cref="GenerousGrace"/>, for tests about a worker that answers
    /// its cancel and keeps its slot. <paramref name="gate"/> is closed once that worker is up: the replacement the pool
    /// spawns when the call is quarantined waits at its start, so it cannot take the slot before the cancelled worker
    /// is back (on a busy machine a spawn can beat a cold first cancel; the returning worker was then retired as surplus).
    /// </summary>
    public static async Task<WorkerPool> StartPatientAsync(StartGate gate, CancellationToken cancellationToken)
    {
        var options = Options(spare: false);
        options.CancelGrace = GenerousGrace;
        options.Environment[StartGate.Variable] = gate.Path;
        var pool = await StartAsync(options, cancellationToken);
        gate.Close();
        return pool;
    }

    public static WorkerPoolOptions Options(int workers = 1, bool spare = true)
    {
        var options = new WorkerPoolOptions
        {
            WorkerPath = TestWorkerPath,
            WorkerCount = workers,
            WarmSpare = spare,
            CancelGrace = TimeSpan.FromMilliseconds(300),
            StartupTimeout = TimeSpan.FromSeconds(60),
            DefaultDeadline = TimeSpan.FromSeconds(60),
        };
        options.Arguments.Add(WorkerHost.WorkerSwitch);
        return options;
    }

    public static async Task<WorkerPool> StartAsync(WorkerPoolOptions options, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        var pool = new WorkerPool(options, null, time);
        await pool.WhenReadyAsync(cancellationToken);
        return pool;
    }

    /// <summary>
    /// Disposes <paramref name="pool"/> at the end of a test that runs it on a fake clock, moving that clock on while the
    /// dispose runs: the shutdown's own bounds (the cancel grace of a call still settling, the kill wait) are timers on
    /// the pool's clock, and a clock nobody advances would hold them forever (a dispose that hung about 1 run in 20).
    /// </summary>
    public static IAsyncDisposable DisposingOn(this WorkerPool pool, Microsoft.Extensions.Time.Testing.FakeTimeProvider time) => new FakeClockDisposal(pool, time);

    private sealed class FakeClockDisposal(WorkerPool pool, Microsoft.Extensions.Time.Testing.FakeTimeProvider time) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            var disposing = pool.DisposeAsync().AsTask();
            for (var step = 0; step < 600 && !disposing.IsCompleted; step++)
            {
                await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromMilliseconds(50)));
                if (!disposing.IsCompleted)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                }
            }

            await disposing.WaitAsync(CallCeiling);
        }
    }

    public static Task<WorkerResult<int>> SleepAsync(this WorkerPool pool, string operation, int ms, WorkerCallOptions? options, CancellationToken cancellationToken = default) =>
        pool.InvokeAsync<SleepRequest, int>(operation, new SleepRequest(ms), options, cancellationToken);

    /// <summary>
    /// The longest a helper call may take before the test fails: these calls take no token, so a pool that hangs (no
    /// worker ever free) would otherwise hang the run instead of failing the test that found it.
    /// </summary>
    public static readonly TimeSpan CallCeiling = TimeSpan.FromSeconds(120);

    public static Task<WorkerResult<int>> CallAsync(this WorkerPool pool, string operation, int argument, WorkerCallOptions? options = null) =>
        pool.InvokeAsync<int, int>(operation, argument, options ?? Generous).WaitAsync(CallCeiling);

    public static async Task<int> PidAsync(this WorkerPool pool) =>
        (await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest("pid"), Generous).WaitAsync(CallCeiling)).Value.Pid;

    /// <summary>True when the process exists and is not a zombie (a zombie is dead; only its parent's reaping is pending).</summary>
    public static bool IsAlive(int pid)
    {
        var stat = ReadStat(pid);
        return stat is not null && stat.Value.State is not ('Z' or 'X');
    }

    /// <summary>Live (non-zombie) processes whose process group is <paramref name="processGroup"/>.</summary>
    public static List<int> LiveMembersOfGroup(int processGroup) => Scan(s => s.ProcessGroup == processGroup);

    /// <summary>Live (non-zombie) children of this test process.</summary>
    public static List<int> LiveChildren() => Scan(s => s.Parent == Environment.ProcessId);

    /// <summary>
    /// Waits for a process that is not our child (a grandchild) to die. The OS gives no exit signal for a non-child,
    /// so this looks at /proc every 50 ms up to a generous ceiling; it is a bounded wait on an effect, not a sleep.
    /// </summary>
    public static async Task<bool> WaitUntilDeadAsync(int pid, TimeSpan ceiling)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var end = TimeProvider.System.GetTimestamp() + (long)(ceiling.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (IsAlive(pid))
        {
            if (TimeProvider.System.GetTimestamp() > end)
            {
                return false;
            }

            await timer.WaitForNextTickAsync();
        }

        return true;
    }

    /// <summary>Asserts that none of the pids is alive, no process is left in their groups, and we have no live child.</summary>
    public static void AssertNothingLeft(IEnumerable<int> pids, bool checkChildren = true)
    {
        foreach (var pid in pids.Distinct())
        {
            IsAlive(pid).Should().BeFalse($"worker {pid} must be gone");
            LiveMembersOfGroup(pid).Should().BeEmpty($"nothing may be left in worker {pid}'s process group");
        }

        if (checkChildren)
        {
            LiveChildren().Should().BeEmpty("no child process may outlive the pool");
        }
    }

    public static void AssertNothingLeftOf(params int[] pids) => AssertNothingLeft(pids, checkChildren: false);

    private static List<int> Scan(Func<(char State, int Parent, int ProcessGroup), bool> match)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadStat(pid) is { } stat && stat.State is not ('Z' or 'X') && match(stat))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    private static (char State, int Parent, int ProcessGroup)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid pgrp ...": comm may contain spaces and parentheses, so parse after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// Holds back the start of test workers: one started while the gate is closed (its file exists) waits until it is
/// opened. Disposing opens it; a pool disposed first kills a worker still waiting at it, as any worker still starting.
/// </summary>
internal sealed class StartGate : IDisposable
{
    public const string Variable = "TESTWORKER_START_GATE";

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ladder-start-gate-{Guid.NewGuid():N}");

    public void Close() => File.WriteAllBytes(Path, []);

    public void Open() => File.Delete(Path);

    public void Dispose() => Open();
}
