namespace Ladder.Jobs.TestNode;

/// <summary>
/// The system clock, with its wall-clock time shifted by a fixed offset: a host whose clock is wrong. Timers and
/// timestamps (intervals) stay real, as on a machine whose clock was set wrong.
/// </summary>
internal sealed class AheadTimeProvider(TimeSpan ahead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
}
