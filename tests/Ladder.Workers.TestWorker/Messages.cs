namespace Ladder.Workers.TestWorker;

public sealed record EchoRequest(string Text);

public sealed record EchoResponse(string Text, int Pid);

public sealed record SleepRequest(int Ms);

public sealed record GrandchildRequest(string PidFile, int HangMs);
