namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>
/// The counts chart's data: totals by state, sampled when someone looks (an overview page or its JSON), at most one
/// read per half poll interval however many people look, kept in a bounded ring. Nobody looking costs nothing: no
/// timer, no hosted service, no query. The price: the chart starts when the first viewer arrives, and a time nobody
/// looked is a gap (drawn as a straight segment between the samples around it).
/// A read is reused for at least <see cref="ReuseFactor"/> times as long as it took, so however many jobs the store
/// holds, a watched dashboard spends at most a tenth of its time counting them (at a million jobs on SQLite the count by
/// queue and state takes about a second: a read then serves about ten).
/// </summary>
internal sealed class CountsHistory(int capacity, TimeSpan pollInterval, TimeProvider time)
{
    /// <summary>A read is reused for this many times as long as it took, at least (and at least half a poll interval).</summary>
    public const int ReuseFactor = 9;

    private static readonly JobState[] States = Enum.GetValues<JobState>();
    private readonly Sample[] _ring = new Sample[capacity];
    private Task<Reading>? _inflight;
    private int _next;
    private int _count;
    private Reading? _last;

    public static IReadOnlyList<JobState> AllStates => States;

    /// <summary>The current counts (a read at most half a poll interval old), recorded as a sample if the last one is a poll interval old.</summary>
    public Task<Reading> ReadAsync(JobQueue queue, CancellationToken cancellationToken)
    {
        Task<Reading> pending;
        lock (_ring)
        {
            if (Fresh(_last) is { } fresh)
            {
                return Task.FromResult(fresh);
            }

            // One read at a time: viewers arriving together share it instead of each scanning the table. Not bound to
            // one viewer's token, since the others wait for it too; each viewer stops waiting on its own token.
            if (_inflight is null || _inflight.IsCompleted)
            {
                _inflight = ReadCoreAsync(queue);
            }

            pending = _inflight;
        }

        return pending.WaitAsync(cancellationToken);
    }

    private async Task<Reading> ReadCoreAsync(JobQueue queue)
    {
        // Off the caller's lock: the query may complete synchronously, and nobody should wait for it on the lock.
        await Task.Yield();
        var started = time.GetTimestamp();
        var counts = await queue.GetCountsAsync(CancellationToken.None).ConfigureAwait(false);
        var took = time.GetElapsedTime(started);
        var now = time.GetUtcNow();
        var totals = new long[States.Length];
        foreach (var c in counts)
        {
            totals[Array.IndexOf(States, c.State)] += c.Count;
        }

        var reading = new Reading(now, counts, totals, took, ReuseFor(took));
        lock (_ring)
        {
            var newest = _count == 0 ? (DateTimeOffset?)null : _ring[(_next - 1 + _ring.Length) % _ring.Length].At;
            // 0.9: a page polling every interval lands a little early or late; it should still add one sample each time.
            if (newest is null || now - newest.Value >= pollInterval * 0.9)
            {
                _ring[_next] = new Sample(now, totals);
                _next = (_next + 1) % _ring.Length;
                _count = Math.Min(_count + 1, _ring.Length);
            }

            _last = reading;
        }

        return reading;
    }

    /// <summary>The samples, oldest first.</summary>
    public IReadOnlyList<Sample> Samples()
    {
        lock (_ring)
        {
            var samples = new Sample[_count];
            var start = (_next - _count + _ring.Length) % _ring.Length;
            for (var i = 0; i < _count; i++)
            {
                samples[i] = _ring[(start + i) % _ring.Length];
            }

            return samples;
        }
    }

    // Half a poll interval, or ReuseFactor times the read if longer (a read that took longer than a day is capped there).
    private TimeSpan ReuseFor(TimeSpan took)
    {
        var scaled = took < TimeSpan.FromDays(1) ? took * ReuseFactor : TimeSpan.FromDays(ReuseFactor);
        return scaled > pollInterval / 2 ? scaled : pollInterval / 2;
    }

    private Reading? Fresh(Reading? last) => last is not null && time.GetUtcNow() - last.At < last.ReusedFor ? last : null;

    /// <summary>Totals by state at a time, indexed like <see cref="AllStates"/>.</summary>
    public readonly record struct Sample(DateTimeOffset At, long[] Totals);

    /// <summary>
    /// One read of the counts: by queue and state, and totals indexed like <see cref="AllStates"/>; how long the read
    /// took, and how long it is reused from <paramref name="At"/> (half a poll interval, or <see cref="ReuseFactor"/>
    /// times <paramref name="Took"/> if longer).
    /// </summary>
    public sealed record Reading(DateTimeOffset At, IReadOnlyList<QueueStateCount> Counts, long[] Totals, TimeSpan Took, TimeSpan ReusedFor);
}
