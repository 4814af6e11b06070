namespace Ladder.Workers.TestWorker;

public sealed record EchoRequest(string Text);

public sealed record EchoResponse(string Text, int Pid);

public sealed record SleepRequest(int Ms);

public sealed record GrandchildRequest(string PidFile, int HangMs);

public sealed record RawFrameRequest(byte Type, long CallId, byte[] Data);

public sealed record FloodRequest(int Chars, bool EndLine);

public sealed record DetachRequest(string PidFile);
