namespace Ladder.Workers.Protocol;

/// <summary>Internal signal that a peer broke the framing rules; surfaces as <see cref="WorkerProtocolException"/>.</summary>
internal sealed class ProtocolViolationException(string message) : Exception(message);
