using Ladder.Workers.Protocol;

namespace Ladder.Workers.Processes;

/// <summary>One call on one worker: completed by the worker's reader with the response frame, or failed by its crash.</summary>
internal sealed class CallState(long id, string operation)
{
    public long Id { get; } = id;

    public string Operation { get; } = operation;

    public TaskCompletionSource<Frame> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private volatile bool _undelivered;
    private volatile bool _cancelRequested;

    /// <summary>The call frame never reached the worker (it was dead, or the write failed): its handler never ran.</summary>
    public bool Undelivered
    {
        get => _undelivered;
        set => _undelivered = value;
    }

    /// <summary>A cancel frame was sent (or is being sent) for this call: a Cancelled frame is then a valid answer.</summary>
    public bool CancelRequested
    {
        get => _cancelRequested;
        set => _cancelRequested = value;
    }
}
