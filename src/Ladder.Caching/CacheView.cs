using System.Diagnostics.CodeAnalysis;
using Ladder.Caching.Internal;

namespace Ladder.Caching;

/// <summary>A keyed view: many entries (pages, filters, per-player). Get it once from <see cref="LadderCache.View{TKey, TValue}"/> and keep it.</summary>
/// <typeparam name="TKey">The entry key.</typeparam>
/// <typeparam name="TValue">The value.</typeparam>
public sealed class CacheView<TKey, TValue>
    where TKey : notnull
{
    private readonly ViewCore<TKey, TValue> _core;

    internal CacheView(ViewCore<TKey, TValue> core)
    {
        _core = core;
    }

    /// <summary>The view's name.</summary>
    public string Name => _core.Name;

    internal ViewCore<TKey, TValue> Core => _core;

    /// <summary>
    /// Reads the value of <paramref name="key"/>: the cached one while no change it depends on was published since its
    /// load started, otherwise a fresh load shared with every concurrent reader (or, under stale-while-revalidate or
    /// fail-safe, the old value — use <see cref="GetResultAsync"/> to see the flag).
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Stops this reader's wait (the shared load goes on for the others).</param>
    /// <returns>The value.</returns>
    /// <exception cref="CacheLoadTimeoutException">The load exceeded the view's load timeout (and no fail-safe value).</exception>
    /// <exception cref="CacheReentrancyException">Called from the loader of the same key.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public ValueTask<TValue> GetAsync(TKey key, CancellationToken cancellationToken = default) =>
        // The hit path: no CacheResult round trip, and no locals of the miss path in its frame (the JIT zeroes
        // every struct local holding references in the prologue, even on a path that never uses it).
        _core.TryGetCurrent(key, out var value) ? new ValueTask<TValue>(value) : _core.GetValueAsync(key, cancellationToken);

    /// <summary>Reads the value of <paramref name="key"/> with its freshness flags (see <see cref="GetAsync"/>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Stops this reader's wait.</param>
    /// <returns>The value and whether it is stale or fail-safe.</returns>
    /// <exception cref="CacheLoadTimeoutException">The load exceeded the view's load timeout (and no fail-safe value).</exception>
    /// <exception cref="CacheReentrancyException">Called from the loader of the same key.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public ValueTask<CacheResult<TValue>> GetResultAsync(TKey key, CancellationToken cancellationToken = default) =>
        _core.GetAsync(key, cancellationToken);

    /// <summary>Synchronous <see cref="GetAsync"/>: a hit returns at once; a miss blocks until the shared load ends.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    /// <exception cref="CacheLoadTimeoutException">The load exceeded the view's load timeout (and no fail-safe value).</exception>
    /// <exception cref="CacheReentrancyException">Called from the loader of the same key.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public TValue Get(TKey key) => _core.TryGetCurrent(key, out var value) ? value : _core.Get(key).Value;

    /// <summary>Synchronous <see cref="GetResultAsync"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value and its flags.</returns>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public CacheResult<TValue> GetResult(TKey key) => _core.Get(key);

    /// <summary>Returns the cached value only if it is current; never loads (and never throws: <see langword="false"/> once the cache is disposed).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when current.</param>
    /// <returns>Whether a current value was cached.</returns>
    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value) => _core.TryGetCurrent(key, out value);
}

/// <summary>A single-value view (one snapshot). Get it once from <see cref="LadderCache.SingleView{TValue}"/> and keep it.</summary>
/// <typeparam name="TValue">The value.</typeparam>
public sealed class CacheSingleView<TValue>
{
    private readonly ViewCore<SingleKey, TValue> _core;

    internal CacheSingleView(ViewCore<SingleKey, TValue> core)
    {
        _core = core;
    }

    /// <summary>The view's name.</summary>
    public string Name => _core.Name;

    /// <summary>Reads the value (see <see cref="CacheView{TKey, TValue}.GetAsync"/>).</summary>
    /// <param name="cancellationToken">Stops this reader's wait.</param>
    /// <returns>The value.</returns>
    /// <exception cref="CacheLoadTimeoutException">The load exceeded the view's load timeout (and no fail-safe value).</exception>
    /// <exception cref="CacheReentrancyException">Called from the view's own loader.</exception>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public ValueTask<TValue> GetAsync(CancellationToken cancellationToken = default) =>
        _core.TryGetCurrent(SingleKey.Instance, out var value) ? new ValueTask<TValue>(value) : _core.GetValueAsync(SingleKey.Instance, cancellationToken);

    /// <summary>Reads the value with its freshness flags.</summary>
    /// <param name="cancellationToken">Stops this reader's wait.</param>
    /// <returns>The value and its flags.</returns>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public ValueTask<CacheResult<TValue>> GetResultAsync(CancellationToken cancellationToken = default) =>
        _core.GetAsync(SingleKey.Instance, cancellationToken);

    /// <summary>Synchronous <see cref="GetAsync"/>.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public TValue Get() => _core.Get(SingleKey.Instance).Value;

    /// <summary>Synchronous <see cref="GetResultAsync"/>.</summary>
    /// <returns>The value and its flags.</returns>
    /// <exception cref="ObjectDisposedException">The cache was disposed, before this read or while it waited on a load (object name <c>LadderCache</c>).</exception>
    public CacheResult<TValue> GetResult() => _core.Get(SingleKey.Instance);

    /// <summary>Returns the cached value only if it is current; never loads (and never throws: <see langword="false"/> once the cache is disposed).</summary>
    /// <param name="value">The value, when current.</param>
    /// <returns>Whether a current value was cached.</returns>
    public bool TryGet([MaybeNullWhen(false)] out TValue value) => _core.TryGetCurrent(SingleKey.Instance, out value);
}
