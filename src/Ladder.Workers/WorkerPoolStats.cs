namespace Ladder.Workers;

/// <summary>A snapshot of a pool: its workers now, and what happened to calls and workers since it started.</summary>
public sealed class WorkerPoolStats
{
    /// <summary>Workers serving calls (idle + busy); the target is <see cref="WorkerPoolOptions.WorkerCount"/>.</summary>
    public int Workers { get; init; }

    /// <summary>Workers waiting for a call.</summary>
    public int IdleWorkers { get; init; }

    /// <summary>Workers running a call.</summary>
    public int BusyWorkers { get; init; }

    /// <summary>True when the warm spare is started and ready.</summary>
    public bool SpareReady { get; init; }

    /// <summary>The process id of the warm spare (ready, serving no call), or null when there is none.</summary>
    public int? SpareProcessId { get; init; }

    /// <summary>Workers being started.</summary>
    public int Starting { get; init; }

    /// <summary>Workers out of rotation after a deadline or cancel: in their grace, or being killed.</summary>
    public int Quarantined { get; init; }

    /// <summary>Calls waiting for a worker.</summary>
    public int QueuedCalls { get; init; }

    /// <summary>Calls admitted and not finished (queued, running, or in a fallback).</summary>
    public int InFlightCalls { get; init; }

    /// <summary>Process ids of every live worker process (serving, spare, starting, quarantined, exiting).</summary>
    public IReadOnlyList<int> ProcessIds { get; init; } = [];

    /// <summary>Calls that finished (any outcome).</summary>
    public long Calls { get; init; }

    /// <summary>Calls that returned a worker's response.</summary>
    public long Succeeded { get; init; }

    /// <summary>Attempts that passed their deadline.</summary>
    public long Timeouts { get; init; }

    /// <summary>Calls cancelled by their caller.</summary>
    public long Cancelled { get; init; }

    /// <summary>Calls whose handler threw in the worker.</summary>
    public long RemoteErrors { get; init; }

    /// <summary>Workers that died unexpectedly (crash, signal, out of memory).</summary>
    public long Crashes { get; init; }

    /// <summary>Workers killed for breaking the protocol.</summary>
    public long ProtocolErrors { get; init; }

    /// <summary>Workers retired after N calls or above the memory threshold (not crashes).</summary>
    public long Recycles { get; init; }

    /// <summary>Process groups the pool killed (deadline or cancel not honoured in the grace, protocol errors).</summary>
    public long Kills { get; init; }

    /// <summary>
    /// Workers started successfully (handshake received). The <c>ladder.workers.spawns</c> counter counts the same starts
    /// with <c>outcome</c> = <c>ok</c>; every start attempted is <see cref="Spawns"/> + <see cref="SpawnFailures"/>.
    /// </summary>
    public long Spawns { get; init; }

    /// <summary>Worker starts that failed (<c>ladder.workers.spawns</c> with <c>outcome</c> = <c>failed</c>).</summary>
    public long SpawnFailures { get; init; }

    /// <summary>Fallbacks run after a timeout.</summary>
    public long Fallbacks { get; init; }

    /// <summary>True while the restart-storm breaker stops spawning.</summary>
    public bool BreakerOpen { get; init; }

    /// <summary>The last start failure, if any.</summary>
    public string? LastStartError { get; init; }
}
