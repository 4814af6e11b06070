using Ladder.Sample.Api;

namespace Ladder.Sample.Hosting;

/// <summary>
/// The last parses that timed out and workers that crashed, for the pool panel. The pool's own numbers
/// (<c>/api/workers</c>) count them; this says when, which worker, which replay and why. Kept in memory, per host.
/// </summary>
internal sealed class PoolIncidents(TimeProvider timeProvider)
{
    public const int Capacity = 20;

    private readonly Queue<PoolIncident> _recent = new(Capacity);

    public void Add(string kind, int? workerProcessId, string? replay, string detail)
    {
        var incident = new PoolIncident(timeProvider.GetUtcNow(), kind, workerProcessId, replay, detail);
        lock (_recent)
        {
            if (_recent.Count == Capacity)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(incident);
        }
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<PoolIncident> Recent()
    {
        lock (_recent)
        {
            return [.. _recent.Reverse()];
        }
    }
}
