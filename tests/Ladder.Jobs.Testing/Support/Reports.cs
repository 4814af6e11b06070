using System.Collections.Concurrent;
using System.Threading.Channels;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs.Testing;

/// <summary>Collects a processor's committed outcomes, so tests wait on a signal instead of sleeping.</summary>
internal sealed class Reports : IDisposable
{
    private readonly JobProcessor _processor;
    private readonly Channel<Report> _channel = Channel.CreateUnbounded<Report>();
    private readonly ConcurrentQueue<(long Id, JobOutcome Outcome)> _all = new();

    public Reports(JobProcessor processor)
    {
        _processor = processor;
        processor.JobReported += OnReported;
    }

    public IReadOnlyCollection<(long Id, JobOutcome Outcome)> All => _all;

    public async Task<(long Id, JobOutcome Outcome)> NextAsync(CancellationToken cancellationToken)
    {
        var report = await _channel.Reader.ReadAsync(cancellationToken);
        return (report.Id, report.Outcome);
    }

    /// <summary>Waits until <paramref name="outcome"/> was reported for <paramref name="id"/>; returns every report seen meanwhile, as they came.</summary>
    public async Task<List<JobOutcome>> UntilAsync(long id, JobOutcome outcome, CancellationToken cancellationToken)
    {
        var seen = new List<JobOutcome>();
        while (true)
        {
            var report = await NextAsync(cancellationToken);
            if (report.Id == id)
            {
                seen.Add(report.Outcome);
                if (report.Outcome == outcome)
                {
                    return seen;
                }
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="count"/> reports for <paramref name="id"/>; returns them in the order of the runs they
    /// report (attempt, then claim time). They may come in another order: a job retried at once can be claimed, run and
    /// reported again before the report of the attempt before is raised.
    /// </summary>
    public async Task<List<JobOutcome>> OfJobAsync(long id, int count, CancellationToken cancellationToken)
    {
        var seen = new List<Report>();
        while (seen.Count < count)
        {
            var report = await _channel.Reader.ReadAsync(cancellationToken);
            if (report.Id == id)
            {
                seen.Add(report);
            }
        }

        return [.. seen.OrderBy(static r => r.Attempt).ThenBy(static r => r.StartedAt).Select(static r => r.Outcome)];
    }

    public async Task CountAsync(JobOutcome outcome, int count, CancellationToken cancellationToken)
    {
        var n = 0;
        while (n < count)
        {
            if ((await NextAsync(cancellationToken)).Outcome == outcome)
            {
                n++;
            }
        }
    }

    private void OnReported(ClaimedJob job, JobOutcome outcome)
    {
        _all.Enqueue((job.Id, outcome));
        _channel.Writer.TryWrite(new Report(job.Id, outcome, job.Attempt, job.StartedAt));
    }

    public void Dispose() => _processor.JobReported -= OnReported;

    private sealed record Report(long Id, JobOutcome Outcome, int Attempt, DateTimeOffset StartedAt);
}
