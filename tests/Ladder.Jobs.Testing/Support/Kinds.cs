namespace Ladder.Jobs.Testing;

/// <summary>The suite's job kind with a number.</summary>
/// <param name="N">The number.</param>
[JobKind("echo")]
public sealed record Echo(int N);

/// <summary>The suite's second job kind.</summary>
/// <param name="Text">The text.</param>
[JobKind("other")]
public sealed record Other(string Text);
