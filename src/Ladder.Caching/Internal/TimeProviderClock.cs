namespace Ladder.Caching.Internal;

/// <summary>Adapts <see cref="TimeProvider"/> to the clock MemoryCache still takes, so expiration follows a fake clock in tests.</summary>
internal sealed class TimeProviderClock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
{
    public DateTimeOffset UtcNow => time.GetUtcNow();
}
