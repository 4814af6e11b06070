using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>A run carries its enqueuer's trace and is counted on the Ladder.Jobs meter.</summary>
public abstract class TelemetryContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Run_CarriesTheEnqueuersTraceAndCountsOnTheLadderJobsMeter(CancellationToken ct)
    {
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Ladder.Jobs" or "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(activities);
        var measured = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var meters = new MeterListener { InstrumentPublished = (i, l) => { if (i.Meter.Name == JobQueue.TelemetryName) { l.EnableMeasurementEvents(i); } } };
        meters.SetMeasurementEventCallback<long>((i, value, _, _) => measured.AddOrUpdate(i.Name, value, (_, v) => v + value));
        meters.Start();
        using var source = new ActivitySource("test");

        await using var queue = await OpenAsync();
        var seen = new TaskCompletionSource<(ActivityTraceId Trace, string? Name)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            seen.TrySetResult((Activity.Current!.TraceId, Activity.Current.OperationName));
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        ActivityTraceId enqueueTrace;
        long id;
        using (var enqueue = source.StartActivity("upload")!)
        {
            enqueueTrace = enqueue.TraceId;
            id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        }

        var (trace, name) = await seen.Task.WaitAsync(ct);
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        trace.Should().Be(enqueueTrace);
        name.Should().Be("ladder.jobs.run");
        measured.Should().ContainKey("ladder.jobs.enqueued").And.ContainKey("ladder.jobs.started").And.ContainKey("ladder.jobs.succeeded");
        measured["ladder.jobs.succeeded"].Should().BeGreaterThanOrEqualTo(1);
    }
}
