namespace Ladder.Workers.Tests;

// The dummy worker's request and response shapes (the worker app is started, never referenced).
internal sealed record EchoRequest(string Text);

internal sealed record EchoResponse(string Text, int Pid);

internal sealed record SleepRequest(int Ms);

internal sealed record GrandchildRequest(string PidFile, int HangMs);

internal sealed record RawFrameRequest(byte Type, long CallId, byte[] Data);

internal sealed record FloodRequest(int Chars, bool EndLine);

internal sealed record DetachRequest(string PidFile);
