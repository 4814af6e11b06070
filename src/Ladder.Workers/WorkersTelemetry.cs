using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ladder.Workers;

/// <summary>The <see cref="Meter"/> and <see cref="ActivitySource"/> named <c>Ladder.Workers</c>, and their instruments.</summary>
internal static class WorkersTelemetry
{
    public const string Name = "Ladder.Workers";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Calls = Meter.CreateCounter<long>("ladder.workers.calls", "{call}", "Calls finished, by outcome.");

    public static readonly Counter<long> Timeouts = Meter.CreateCounter<long>("ladder.workers.timeouts", "{call}", "Attempts that passed their deadline.");

    public static readonly Counter<long> Crashes = Meter.CreateCounter<long>("ladder.workers.crashes", "{worker}", "Workers that died or broke the protocol.");

    public static readonly Counter<long> Recycles = Meter.CreateCounter<long>("ladder.workers.recycles", "{worker}", "Workers retired after N calls or above the memory threshold.");

    public static readonly Counter<long> Kills = Meter.CreateCounter<long>("ladder.workers.kills", "{worker}", "Process groups killed by the pool.");

    public static readonly Counter<long> Spawns = Meter.CreateCounter<long>("ladder.workers.spawns", "{worker}", "Worker starts, by outcome (ok, failed), counted when the start ends.");

    public static readonly Histogram<double> SpawnDuration = Meter.CreateHistogram<double>("ladder.workers.spawn.duration", "s", "From process start to handshake.");

    public static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("ladder.workers.queue.wait", "s", "Time a call waited for a worker.");

    public static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("ladder.workers.run.duration", "s", "Time an attempt spent in its worker.");

    public static readonly UpDownCounter<long> PoolSize = Meter.CreateUpDownCounter<long>("ladder.workers.pool.size", "{worker}", "Workers serving calls (idle or busy).");

    // The pool's own bookkeeping (a start, a settle, a fault, a hand-over, a recycle, dispose) emits through these: a
    // listener that throws there has no caller to tell, and its exception would stop the bookkeeping half-way (a start
    // that never ends and leaves the pool short for ever, a stuck worker never killed, a recycled worker never
    // replaced). So it is dropped here. Measurements on a call's own path (calls, queue wait, run duration, timeouts)
    // stay plain: there the exception reaches the caller, after the slot and the worker are accounted for.
#pragma warning disable CA1031 // Deliberately swallowed: see above.
    public static void AddSafely(Counter<long> counter, long value)
    {
        try
        {
            counter.Add(value);
        }
        catch (Exception)
        {
            // A listener's failure: the bookkeeping around this call must go on.
        }
    }

    public static void AddSafely(Counter<long> counter, long value, KeyValuePair<string, object?> tag)
    {
        try
        {
            counter.Add(value, tag);
        }
        catch (Exception)
        {
            // A listener's failure: the bookkeeping around this call must go on.
        }
    }

    public static void AddSafely(UpDownCounter<long> counter, long value)
    {
        try
        {
            counter.Add(value);
        }
        catch (Exception)
        {
            // A listener's failure: the bookkeeping around this call must go on.
        }
    }

    public static void RecordSafely(Histogram<double> histogram, double value)
    {
        try
        {
            histogram.Record(value);
        }
        catch (Exception)
        {
            // A listener's failure: the bookkeeping around this call must go on.
        }
    }
#pragma warning restore CA1031
}
