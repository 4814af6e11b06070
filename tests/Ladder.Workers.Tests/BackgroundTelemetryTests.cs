using System.Diagnostics.Metrics;

namespace Ladder.Workers.Tests;

/// <summary>
/// A meter listener that throws inside the pool's own background work (a start, a settle) has no caller to reach:
/// the pool's bookkeeping must be done regardless, or a start never ends (the pool never reaches strength) or a stuck
/// worker is never killed.
/// </summary>
public sealed class BackgroundTelemetryTests
{
    [Test, CancelAfter(90_000)]
    public async Task Start_WhenASpawnsListenerThrowsOnce_ThePoolStillReachesFullStrength(CancellationToken ct)
    {
        var armed = 1;
        using var listener = ThrowOnce("ladder.workers.spawns", () => Interlocked.Exchange(ref armed, 0) == 1);
        await using var pool = new WorkerPool(Support.Options(spare: false));

        await pool.WhenReadyAsync(ct).WaitAsync(TimeSpan.FromSeconds(45), ct);

        Volatile.Read(ref armed).Should().Be(0, "the listener threw during the start");
        var stats = pool.GetStats();
        stats.Workers.Should().Be(1);
        stats.Starting.Should().Be(0);
        (await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().BePositive();
    }

    [Test, CancelAfter(90_000)]
    public async Task Settle_WhenAKillsListenerThrowsOnce_TheStuckWorkerIsStillKilled(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        var stuck = await pool.PidAsync();
        var armed = 1;
        using var listener = ThrowOnce("ladder.workers.kills", () => Interlocked.Exchange(ref armed, 0) == 1);

        var result = await pool.SleepAsync("hang", 60_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(300) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.Quarantined == 0, ct).WaitAsync(TimeSpan.FromSeconds(45), ct);
        Volatile.Read(ref armed).Should().Be(0, "the listener threw during the settle");
        (await Support.WaitUntilDeadAsync(stuck, TimeSpan.FromSeconds(30))).Should().BeTrue("the worker that ignored its cancel is killed");
        (await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().NotBe(stuck);
    }

    [Test, CancelAfter(90_000)]
    public async Task Recycle_WhenARecyclesListenerThrowsOnce_TheWorkerIsStillRetiredAndReplaced(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.RecycleAfterCalls = 1;
        await using var pool = await Support.StartAsync(options, ct);
        var armed = 1;
        using var listener = ThrowOnce("ladder.workers.recycles", () => Interlocked.Exchange(ref armed, 0) == 1);

        var first = await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct);
        var second = await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct);

        Volatile.Read(ref armed).Should().Be(0, "the listener threw during the recycle");
        second.Should().NotBe(first, "the recycled worker was replaced");
        (await Support.WaitUntilDeadAsync(first, TimeSpan.FromSeconds(30))).Should().BeTrue("the recycled worker is stopped");
        pool.GetStats().Recycles.Should().BeGreaterThanOrEqualTo(1);
    }

    /// <summary>A listener on one of the pool's long counters that throws when <paramref name="fire"/> says so.</summary>
    private static MeterListener ThrowOnce(string instrumentName, Func<bool> fire)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ladder.Workers" && instrument.Name == instrumentName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (fire())
            {
                throw new InvalidOperationException("injected: a listener failed");
            }
        });
        listener.Start();
        return listener;
    }
}
