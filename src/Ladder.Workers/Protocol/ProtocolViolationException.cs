namespace Ladder.Workers.Protocol;

/// <summary>Internal signal that a peer broke the framing rules; surfaces as <see cref="WorkerProtocolException"/>.</summary>
internal sealed class ProtocolViolationException(string message, bool truncated = false) : Exception(message)
{
    /// <summary>The stream ended inside a frame: its writer died while it wrote (a pool killed mid-write).</summary>
    public bool Truncated { get; } = truncated;
}
