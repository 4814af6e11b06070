namespace Ladder.Workers;

/// <summary>How a call reports that its deadline passed (after any retry, when no fallback is given).</summary>
public enum WorkerTimeoutBehavior
{
    /// <summary>Return a <see cref="WorkerResult{T}"/> whose <see cref="WorkerResult{T}.WasTimeout"/> is true and that has no value.</summary>
    ReturnResult = 0,

    /// <summary>Throw <see cref="WorkerTimeoutException"/>.</summary>
    Throw = 1,
}
