using System.Diagnostics.Metrics;

namespace Ladder.Caching.PostgreSql.Internal;

/// <summary>The backplane's instruments, on the existing "Ladder.Caching" meter. Names are listed in docs/caching/metrics.md.</summary>
internal sealed class BackplaneMetrics : IDisposable
{
    public const string MeterName = "Ladder.Caching";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _deliveryLag;
    private readonly Counter<long> _catchUps;
    private readonly Histogram<double> _catchUpDuration;
    private readonly Counter<long> _fullInvalidations;
    private readonly Histogram<long> _batchSize;
    private readonly Counter<long> _rowsApplied;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _holesSkipped;
    private readonly Counter<long> _probeFailures;

    public BackplaneMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _deliveryLag = _meter.CreateHistogram<double>("ladder.caching.backplane.delivery_lag", "s", "From the change-log row's creation (database clock) to its application on this node.");
        _catchUps = _meter.CreateCounter<long>("ladder.caching.backplane.catch_ups", "{catch_up}", "Reads of the change log (reason: start, reconnect, gap, hole, probe).");
        _catchUpDuration = _meter.CreateHistogram<double>("ladder.caching.backplane.catch_up.duration", "s", "How long a catch-up read and its application took.");
        _fullInvalidations = _meter.CreateCounter<long>("ladder.caching.backplane.full_invalidations", "{invalidation}", "Every view invalidated: the log no longer reached back to this node's position (reason: pruned), or a row could not be read (reason: malformed).");
        _batchSize = _meter.CreateHistogram<long>("ladder.caching.backplane.batch_size", "{change}", "Changes per change-log row written by this node.");
        _rowsApplied = _meter.CreateCounter<long>("ladder.caching.backplane.rows_applied", "{row}", "Change-log rows applied (path: notify or read; own after-commit rows count as skipped).");
        _reconnects = _meter.CreateCounter<long>("ladder.caching.backplane.reconnects", "{reconnect}", "Listener connections lost and re-established.");
        _writeFailures = _meter.CreateCounter<long>("ladder.caching.backplane.write_failures", "{failure}", "Failed attempts to write a change-log row (retried).");
        _probeFailures = _meter.CreateCounter<long>("ladder.caching.backplane.probe_failures", "{probe}", "Listener probes that failed or timed out (the connection is then dropped and re-established).");
        _holesSkipped = _meter.CreateCounter<long>("ladder.caching.backplane.holes_skipped", "{sequence}", "Sequence numbers proved never committed (rolled back) and skipped.");
    }

    public void DeliveryLag(TimeSpan lag) => _deliveryLag.Record(Math.Max(0, lag.TotalSeconds));

    public void CatchUp(string reason, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("reason", reason);
        _catchUps.Add(1, tag);
        _catchUpDuration.Record(duration.TotalSeconds, tag);
    }

    public void FullInvalidation(string reason) => _fullInvalidations.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void BatchWritten(int changes) => _batchSize.Record(changes);

    public void RowApplied(string path) => _rowsApplied.Add(1, new KeyValuePair<string, object?>("path", path));

    public void Reconnected() => _reconnects.Add(1);

    public void WriteFailed() => _writeFailures.Add(1);

    public void HolesSkipped(long count) => _holesSkipped.Add(count);

    public void ProbeFailed() => _probeFailures.Add(1);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
