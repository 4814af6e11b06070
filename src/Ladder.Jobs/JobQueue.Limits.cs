using Ladder.Jobs.Diagnostics;

namespace Ladder.Jobs;

/// <summary>Rate limits and concurrency keys: set in the store, so every process and host enforces the same ones at claim time.</summary>
public sealed partial class JobQueue
{
    /// <summary>
    /// Sets (adds or replaces) a rate limit: at most <see cref="JobRateLimit.MaxStarts"/> starts in any
    /// <see cref="JobRateLimit.Window"/> of a queue's jobs or of a concurrency key's jobs, for every process and host
    /// sharing the store. Claims that commit after this call returns obey it. See docs/jobs/concurrency.md.
    /// </summary>
    /// <param name="limit">The limit.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>A task that completes once the limit is durable.</returns>
    /// <exception cref="ArgumentException">The limit is invalid (an empty name, a number out of range).</exception>
    /// <exception cref="NotSupportedException">The store does not support limits.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task SetRateLimitAsync(JobRateLimit limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(limit);
        limit.Validate();
        ThrowIfDisposed();
        await _store.SetRateLimitAsync(limit, cancellationToken).ConfigureAwait(false);
        Log.RateLimitSet(Logger, limit.Scope, limit.Name, limit.MaxStarts, limit.Window);
        if (limit.Scope == RateLimitScope.Queue)
        {
            NotifyAvailable(limit.Name);
        }
    }

    /// <summary>Removes a rate limit.</summary>
    /// <param name="scope">What it limits.</param>
    /// <param name="name">The queue or the concurrency key.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether there was such a limit.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="NotSupportedException">The store does not support limits.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<bool> RemoveRateLimitAsync(RateLimitScope scope, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ThrowIfDisposed();
        var removed = await _store.RemoveRateLimitAsync(scope, name, cancellationToken).ConfigureAwait(false);
        if (removed)
        {
            Log.RateLimitRemoved(Logger, scope, name);
            if (scope == RateLimitScope.Queue)
            {
                NotifyAvailable(name);
            }
        }

        return removed;
    }

    /// <summary>The rate limits set in the store, by scope then name.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The limits.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<IReadOnlyList<JobRateLimit>> GetRateLimitsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _store.GetRateLimitsAsync(cancellationToken);
    }

    /// <summary>
    /// The concurrency keys in use (with jobs running or waiting to run): each key's limit, running and waiting jobs,
    /// by most running then key.
    /// </summary>
    /// <param name="limit">At most this many keys: 1..10000. Default: 100.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The keys.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<IReadOnlyList<ConcurrencyKeyUsage>> GetConcurrencyKeysAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 10_000);
        ThrowIfDisposed();
        return _store.GetConcurrencyKeysAsync(limit, cancellationToken);
    }
}
