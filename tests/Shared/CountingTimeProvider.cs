namespace Ladder.Testing;

// Shared by the Jobs tests (the scheduler's one-timer test) and the jobs benchmarks (idle-schedules): linked, not copied.

/// <summary>A clock that counts the timers created through it and how many are alive at once (the one-timer claim).</summary>
internal sealed class CountingTimeProvider(TimeProvider inner) : TimeProvider
{
    private int _alive;
    private int _maxAlive;
    private int _created;

    public int Created => Volatile.Read(ref _created);

    public int MaxAlive => Volatile.Read(ref _maxAlive);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _created);
        var alive = Interlocked.Increment(ref _alive);
        int max;
        while (alive > (max = Volatile.Read(ref _maxAlive)) && Interlocked.CompareExchange(ref _maxAlive, alive, max) != max)
        {
        }

        return new Counted(inner.CreateTimer(callback, state, dueTime, period), this);
    }

    private sealed class Counted(ITimer timer, CountingTimeProvider owner) : ITimer
    {
        private int _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(dueTime, period);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._alive);
            }

            timer.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            Dispose();
            await timer.DisposeAsync();
        }
    }
}
