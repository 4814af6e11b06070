using Ladder.Workers.Protocol;

namespace Ladder.Workers.Processes;

/// <summary>One call on one worker: completed by the worker's reader with the response frame, or failed by its crash.</summary>
internal sealed class CallState(long id, string operation)
{
    public long Id { get; } = id;

    public string Operation { get; } = operation;

    public TaskCompletionSource<Frame> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
