namespace Ladder.Sample.Hosting;

/// <summary>When this host started (for <c>/api/host</c>).</summary>
internal sealed class HostStart(TimeProvider timeProvider)
{
    public DateTimeOffset At { get; } = timeProvider.GetUtcNow();
}
