namespace Ladder.Jobs.Dashboard.Tests.Support;

/// <summary>Succeeds.</summary>
[JobKind("test.echo")]
public sealed record Echo(string Text);

/// <summary>Fails permanently with its message (dead at once), while its host says boom jobs fail.</summary>
[JobKind("test.boom")]
public sealed record Boom(string Message);
