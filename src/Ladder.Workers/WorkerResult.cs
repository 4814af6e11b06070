namespace Ladder.Workers;

/// <summary>What happened to a call: its value, or that it timed out; which attempt and worker; how long it waited and ran.</summary>
/// <typeparam name="T">The response type.</typeparam>
public sealed class WorkerResult<T>
{
    private readonly T? _value;

    internal WorkerResult(string operation, T? value, bool hasValue, bool wasTimeout, bool usedFallback, int attempts, int workerProcessId,
        TimeSpan deadline, TimeSpan queueWait, TimeSpan runDuration, TimeSpan totalDuration)
    {
        Operation = operation;
        _value = value;
        HasValue = hasValue;
        WasTimeout = wasTimeout;
        UsedFallback = usedFallback;
        Attempts = attempts;
        WorkerProcessId = workerProcessId;
        Deadline = deadline;
        QueueWait = queueWait;
        RunDuration = runDuration;
        TotalDuration = totalDuration;
    }

    /// <summary>The operation name.</summary>
    public string Operation { get; }

    /// <summary>True when <see cref="Value"/> holds a response (from a worker or from the fallback).</summary>
    public bool HasValue { get; }

    /// <summary>True when a deadline passed (even if a retry or fallback then produced a value).</summary>
    public bool WasTimeout { get; }

    /// <summary>True when the value came from the caller-supplied fallback.</summary>
    public bool UsedFallback { get; }

    /// <summary>Attempts made on workers (2 after a retry on a fresh worker).</summary>
    public int Attempts { get; }

    /// <summary>Process id of the worker of the last attempt.</summary>
    public int WorkerProcessId { get; }

    /// <summary>The deadline that applied to each attempt.</summary>
    public TimeSpan Deadline { get; }

    /// <summary>Time spent waiting for a worker, summed over attempts.</summary>
    public TimeSpan QueueWait { get; }

    /// <summary>Time the last attempt spent in its worker (up to the deadline).</summary>
    public TimeSpan RunDuration { get; }

    /// <summary>Time from the call to its result, fallback included.</summary>
    public TimeSpan TotalDuration { get; }

    /// <summary>The response.</summary>
    /// <exception cref="WorkerTimeoutException">The call timed out and has no value.</exception>
    public T Value => HasValue
        ? _value!
        : throw new WorkerTimeoutException(Operation, Deadline, WorkerProcessId, Attempts);

    /// <summary>The response, or default when the call timed out.</summary>
    public T? ValueOrDefault => _value;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Operation}: {(WasTimeout ? "timed out" : "ok")}{(UsedFallback ? " (fallback)" : "")}, attempt {Attempts}, worker {WorkerProcessId}, ran {RunDuration.TotalMilliseconds:0} ms, queued {QueueWait.TotalMilliseconds:0} ms";
}
