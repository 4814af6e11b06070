using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Ladder.Jobs.Testing;

/// <summary>Collects a processor's committed outcomes, so tests wait on a signal instead of sleeping.</summary>
internal sealed class Reports : IDisposable
{
    private readonly JobProcessor _processor;
    private readonly Channel<(long Id, JobOutcome Outcome)> _channel = Channel.CreateUnbounded<(long, JobOutcome)>();
    private readonly ConcurrentQueue<(long Id, JobOutcome Outcome)> _all = new();

    public Reports(JobProcessor processor)
    {
        _processor = processor;
        processor.JobReported += OnReported;
    }

    public IReadOnlyCollection<(long Id, JobOutcome Outcome)> All => _all;

    public async Task<(long Id, JobOutcome Outcome)> NextAsync(CancellationToken cancellationToken) =>
        await _channel.Reader.ReadAsync(cancellationToken);

    /// <summary>Waits until <paramref name="outcome"/> was reported for <paramref name="id"/>; returns every report seen meanwhile.</summary>
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

    private void OnReported(long id, JobOutcome outcome)
    {
        _all.Enqueue((id, outcome));
        _channel.Writer.TryWrite((id, outcome));
    }

    public void Dispose() => _processor.JobReported -= OnReported;
}
