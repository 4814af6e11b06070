namespace Ladder.Workers.Protocol;

/// <summary>One decoded frame: its type, the call it belongs to, and its data (owned by the frame).</summary>
internal readonly record struct Frame(FrameType Type, long CallId, byte[] Data);
