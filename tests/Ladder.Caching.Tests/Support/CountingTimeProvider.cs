using Microsoft.Extensions.Time.Testing;

namespace Ladder.Caching.Tests.Support;

/// <summary>A FakeTimeProvider that counts the timers created through it and their callbacks (for the idle tests).</summary>
public sealed class CountingTimeProvider : TimeProvider
{
    private int _timersCreated;
    private int _callbacks;

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public int TimersCreated => Volatile.Read(ref _timersCreated);

    public int Callbacks => Volatile.Read(ref _callbacks);

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _timersCreated);
        return Fake.CreateTimer(
            s =>
            {
                Interlocked.Increment(ref _callbacks);
                callback(s);
            },
            state,
            dueTime,
            period);
    }

    public void Advance(TimeSpan by) => Fake.Advance(by);
}
