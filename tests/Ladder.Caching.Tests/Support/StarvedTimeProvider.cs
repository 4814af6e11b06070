using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Caching.Tests.Support;

/// <summary>
/// A fake clock whose timer callbacks do not run when due: they wait in a queue until <see cref="RunDeferred"/>, as
/// System.Threading timer callbacks wait for a thread when the thread pool is starved (every thread blocked).
/// </summary>
public sealed class StarvedTimeProvider : TimeProvider
{
    private readonly ConcurrentQueue<(TimerCallback Callback, object? State)> _deferred = new();

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        Fake.CreateTimer(s => _deferred.Enqueue((callback, s)), state, dueTime, period);

    public void Advance(TimeSpan by) => Fake.Advance(by);

    /// <summary>The starvation ends: the callbacks that came due run now, in order.</summary>
    public void RunDeferred()
    {
        while (_deferred.TryDequeue(out var due))
        {
            due.Callback(due.State);
        }
    }
}
