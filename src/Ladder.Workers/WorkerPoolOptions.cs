using System.Text.Json;

namespace Ladder.Workers;

/// <summary>Options for a <see cref="WorkerPool"/>. Validated when the pool is created (all failures at once).</summary>
public sealed class WorkerPoolOptions
{
    /// <summary>
    /// The worker executable, or a framework-dependent <c>.dll</c> (then started with the <c>dotnet</c> host).
    /// Required. <see cref="UseCurrentExecutable"/> fills it for the same-exe worker switch pattern.
    /// </summary>
    public string? WorkerPath { get; set; }

    /// <summary>Arguments passed to every worker (for example <see cref="WorkerHost.WorkerSwitch"/>). Default: none.</summary>
    public IList<string> Arguments { get; } = [];

    /// <summary>Working directory of the workers. Default: the current directory.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Extra environment variables for the workers (a null value removes a variable). Default: none.</summary>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Number of warm workers that serve calls. Default: the processor count. Range 1–256.</summary>
    public int WorkerCount { get; set; } = System.Environment.ProcessorCount;

    /// <summary>
    /// Keep one extra started-and-ready worker, so a killed or crashed worker is replaced by a hand-over, not a
    /// spawn. Default: true.
    /// </summary>
    public bool WarmSpare { get; set; } = true;

    /// <summary>How many calls may wait for a worker beyond those running. Default: 100. Range 0–1,000,000.</summary>
    public int QueueCapacity { get; set; } = 100;

    /// <summary>What a call does when the queue is full. Default: <see cref="WorkerQueueFullMode.Wait"/>.</summary>
    public WorkerQueueFullMode QueueFullMode { get; set; } = WorkerQueueFullMode.Wait;

    /// <summary>Deadline of a call that does not give its own, measured from the moment the worker gets the call. Default: 30 s.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest a call may wait for a worker (queue and admission, over all its attempts), on top of its deadline:
    /// past it the call fails with <see cref="WorkerQueueTimeoutException"/> without being sent. A deadline does not
    /// cover this wait (busy workers, a failing start-up). <see cref="Timeout.InfiniteTimeSpan"/> = no bound. Range
    /// 1 ms–1 day. Default: <see cref="Timeout.InfiniteTimeSpan"/>.
    /// </summary>
    public TimeSpan MaxQueueWait { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>What a timed-out call does by default (a result, or an exception). Default: <see cref="WorkerTimeoutBehavior.ReturnResult"/>.</summary>
    public WorkerTimeoutBehavior TimeoutBehavior { get; set; } = WorkerTimeoutBehavior.ReturnResult;

    /// <summary>Retry a timed-out call once on a fresh worker by default. Default: false.</summary>
    public bool RetryOnTimeout { get; set; }

    /// <summary>Time a worker gets to stop after a cancel frame before its process tree is killed. Default: 500 ms.</summary>
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bounded wait for a killed or exiting worker to be gone. Default: 5 s.</summary>
    public TimeSpan KillWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a new worker has to start and send its handshake. Default: 15 s.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>On dispose, time in-flight calls get to finish before their workers are killed. Default: 5 s.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Recycle a worker after this many calls (with up to 10 % jitter so workers do not recycle together). Default: null (never).</summary>
    public int? RecycleAfterCalls { get; set; }

    /// <summary>Recycle a worker whose working set after a call is above this many bytes. Default: null (never).</summary>
    public long? RecycleAboveWorkingSetBytes { get; set; }

    /// <summary>Hard GC heap cap per worker (<c>DOTNET_GCHeapHardLimit</c>); allocating past it ends the worker as out of memory. Default: null.</summary>
    public long? HeapHardLimitBytes { get; set; }

    /// <summary>Largest frame either side may send (request, response). Default: 16 MiB. Range 1 KiB–1 GiB.</summary>
    public int MaxFrameBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Lines of a worker's stderr kept for crash reports. Default: 40.</summary>
    public int StderrTailLines { get; set; } = 40;

    /// <summary>Consecutive failed worker starts that open the restart-storm breaker. Default: 5.</summary>
    public int BreakerThreshold { get; set; } = 5;

    /// <summary>First wait before the open breaker tries one start again; doubles up to <see cref="BreakerMaxBackoff"/>. Default: 1 s.</summary>
    public TimeSpan BreakerInitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between breaker probes. Default: 30 s.</summary>
    public TimeSpan BreakerMaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many caller-supplied fallbacks may run at once on the thread pool. Default: the processor count.</summary>
    public int FallbackConcurrency { get; set; } = System.Environment.ProcessorCount;

    /// <summary>Serializer options for typed requests and responses. Default: <see cref="JsonSerializerOptions.Web"/>.</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }

    /// <summary>
    /// Points the pool at the running executable started with <paramref name="workerSwitch"/>: the same-exe worker
    /// pattern (see <see cref="WorkerHost.IsWorkerInvocation"/>). Works for an apphost and for <c>dotnet app.dll</c>.
    /// </summary>
    /// <param name="workerSwitch">The argument that makes the program run as a worker. Default: <see cref="WorkerHost.WorkerSwitch"/>.</param>
    /// <returns>These options.</returns>
    /// <exception cref="InvalidOperationException">The running executable cannot be determined.</exception>
    public WorkerPoolOptions UseCurrentExecutable(string workerSwitch = WorkerHost.WorkerSwitch)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerSwitch);
        var processPath = System.Environment.ProcessPath ?? throw new InvalidOperationException("The running executable is unknown.");
        if (string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            // Started as `dotnet app.dll`: the worker is the entry assembly, run through the same host.
            var entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
            WorkerPath = string.IsNullOrEmpty(entry) ? throw new InvalidOperationException("The entry assembly is unknown.") : entry;
        }
        else
        {
            WorkerPath = processPath;
        }

        Arguments.Clear();
        Arguments.Add(workerSwitch);
        return this;
    }
}
