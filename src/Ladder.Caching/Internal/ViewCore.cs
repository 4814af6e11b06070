using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;

namespace Ladder.Caching.Internal;

/// <summary>
/// One view: entries in a MemoryCache (storage, size, eviction), each stamped with the versions its load started
/// from; a read serves an entry only while its stamp matches the current counters.
/// </summary>
/// <remarks>
/// The guarantee (docs/caching/guarantee.md): a read that starts after Publish returned never returns a value whose
/// load started before that publish, unless stale-while-revalidate is on, and then the result is flagged stale.
/// Sketch: Publish P increments a counter c the view depends on, from v to v+1, and returns. A load L that started
/// before P took its stamp before P's increment, so its stamp holds c ≤ v. Counters only grow (or die, which is
/// negative for ever), so a read R starting after P sees c ≥ v+1 ≠ stamp: R rejects L's entry (IsCurrent) and
/// rejects L's flight too (Acquire joins only a flight whose stamp is current). Where L's result was stored does not
/// matter: the check is on every read, not at store time.
/// </remarks>
internal sealed partial class ViewCore<TKey, TValue> : ViewBase
    where TKey : notnull
{
    private static readonly PostEvictionDelegate OnEvicted = static (key, value, reason, state) => ((ViewCore<TKey, TValue>)state!).Forget(key, value, reason);

    private readonly MemoryCache _store;
    private readonly ConcurrentDictionary<TKey, Flight> _flights = new();
    private readonly Func<TKey, CancellationToken, ValueTask<TValue>> _load;
    private readonly Func<TKey, string>[] _entityKeyOf;
    private readonly Func<TValue, long>? _sizeOf;
    private int _evictionsHandled;

    // Stripes of keys: a stamp with its flight, and a release's check with its kill, run under their key's stripe.
    private readonly Lock[] _stripes = CreateStripes();

    private static Lock[] CreateStripes()
    {
        var stripes = new Lock[32];
        for (var i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new Lock();
        }

        return stripes;
    }

    private Lock StripeOf(TKey key) => _stripes[(int)((uint)key.GetHashCode() % (uint)_stripes.Length)];

    public ViewCore(ViewDefinition<TKey, TValue> definition, ViewContext context)
        : base(definition, context)
    {
        _load = definition.Loader!(context.Services);
        _entityKeyOf = definition.Dependencies.Where(d => d.EntityKeyOf is not null).Select(d => (Func<TKey, string>)d.EntityKeyOf!).ToArray();
        _sizeOf = definition.SizeOf;
        _store = new MemoryCache(new MemoryCacheOptions
        {
            Clock = new TimeProviderClock(context.Time),
            SizeLimit = definition.Options.SizeLimit,
        });
    }

    /// <summary>Entries stored now (current or not); for tests and diagnostics.</summary>
    public int Count => _store.Count;

    /// <summary>The hit path: one MemoryCache lookup and integer compares, no allocation (for reference-type keys).</summary>
    public ValueTask<CacheResult<TValue>> GetAsync(TKey key, CancellationToken cancellationToken)
    {
        if (TryGetEntry(key, out var entry))
        {
            if (IsCurrent(entry.Stamp))
            {
                Context.Metrics.Hit(Tag);
                return new ValueTask<CacheResult<TValue>>(new CacheResult<TValue>(entry.Value, isStale: false, isFailSafe: false));
            }

            if (TryServeStale(key, entry))
            {
                return new ValueTask<CacheResult<TValue>>(new CacheResult<TValue>(entry.Value, isStale: true, isFailSafe: false));
            }
        }

        return LoadAsync(key, cancellationToken);
    }

    /// <summary>The miss path of <see cref="CacheView{TKey, TValue}.GetAsync"/>, kept out of the hit path's frame.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public ValueTask<TValue> GetValueAsync(TKey key, CancellationToken cancellationToken)
    {
        var result = GetAsync(key, cancellationToken);
        return result.IsCompletedSuccessfully ? new ValueTask<TValue>(result.Result.Value) : Unwrap(result);

        static async ValueTask<TValue> Unwrap(ValueTask<CacheResult<TValue>> pending) => (await pending.ConfigureAwait(false)).Value;
    }

    public CacheResult<TValue> Get(TKey key)
    {
        if (TryGetEntry(key, out var entry))
        {
            if (IsCurrent(entry.Stamp))
            {
                Context.Metrics.Hit(Tag);
                return new CacheResult<TValue>(entry.Value, isStale: false, isFailSafe: false);
            }

            if (TryServeStale(key, entry))
            {
                return new CacheResult<TValue>(entry.Value, isStale: true, isFailSafe: false);
            }
        }

        Context.Metrics.Miss(Tag);
        ThrowIfReentrant(key);
        var flight = Acquire(key, background: false, out var current);
        if (current is not null)
        {
            return new CacheResult<TValue>(current.Value, isStale: false, isFailSafe: false);
        }

        var waiting = LoadContext.BeginWait(flight!, Name, key);
        try
        {
            return new CacheResult<TValue>(WaitSynchronously(flight!), isStale: false, isFailSafe: false);
        }
        catch (Exception) when (TryFailSafe(key, out var last))
        {
            return new CacheResult<TValue>(last.Value, isStale: true, isFailSafe: true);
        }
        finally
        {
            LoadContext.EndWait(waiting);
        }
    }

    /// <remarks>
    /// Never inlined: MemoryCache's lookup inlines into it, and inlined once more into a caller's method the whole body
    /// made the caller's frame big and spill-heavy (measured: an awaited hit at 1.67× MemoryCache inlined, 1.19× not).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public bool TryGetCurrent(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (TryGetEntry(key, out var entry) && IsCurrent(entry.Stamp))
        {
            Context.Metrics.Hit(Tag);
            value = entry.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Called by <see cref="LadderCache.Dispose"/> after it cancelled the disposal token (which released every load):
    /// drops the entries. The MemoryCache is cleared, not disposed: a disposed one throws its own
    /// ObjectDisposedException from the hit path, naming MemoryCache; an empty one makes every read a miss, and the
    /// miss path throws the error that names the Ladder cache, at no cost to the hit path.
    /// </summary>
    public override void Dispose()
    {
        base.Dispose();
        _store.Clear();
    }

    /// <summary>The stored entry of <paramref name="key"/>, current or not.</summary>
    /// <remarks>
    /// No type check: the store is private and <see cref="Store"/> is its only writer, so every value is an Entry. A
    /// checked cast to a type nested in a shared generic costs a runtime type lookup on every hit.
    /// </remarks>
    private bool TryGetEntry(TKey key, [NotNullWhen(true)] out Entry? entry)
    {
        if (_store.TryGetValue(key, out var stored) && stored is not null)
        {
            entry = Unsafe.As<Entry>(stored);
            return true;
        }

        entry = null;
        return false;
    }

    /// <summary>Whether no change the stamp depends on was published since it was taken: integer compares only.</summary>
    private bool IsCurrent(Stamp stamp)
    {
        if (stamp.ViewVersion != Version)
        {
            return false;
        }

        var counters = stamp.Counters;
        if (counters is null)
        {
            return true;
        }

        var values = stamp.Values!;
        for (var i = 0; i < counters.Length; i++)
        {
            // A killed counter is negative and a stamp value never is, so an entry on a dead counter is never current.
            if (Volatile.Read(ref counters[i].Value) != values[i])
            {
                return false;
            }
        }

        return true;
    }

    private bool TryServeStale(TKey key, Entry entry)
    {
        if (Options.StaleWhileRevalidate is not { } maxStaleness || Context.Time.GetElapsedTime(entry.LoadStarted) > maxStaleness)
        {
            return false;
        }

        Context.Metrics.StaleServed(Tag, failSafe: false);
        _ = Acquire(key, background: true, out _);
        return true;
    }

    private bool TryFailSafe(TKey key, [NotNullWhen(true)] out Entry? last)
    {
        last = null;
        if (!Options.FailSafe || Context.Disposing.IsCancellationRequested || !_store.TryGetValue(key, out var stored) || stored is not Entry entry)
        {
            return false;
        }

        last = entry;
        Context.Metrics.StaleServed(Tag, failSafe: true);
        Log.FailSafeServed(Context.Logger, Name, key);
        return true;
    }

    private void ThrowIfReentrant(TKey key)
    {
        if (LoadContext.FindCycle(this, key) is { } cycle)
        {
            throw new CacheReentrancyException(Name, key, cycle);
        }
    }

    private void ThrowIfDisposed(TKey key)
    {
        if (Context.Disposing.IsCancellationRequested)
        {
            throw DisposedError(key, loading: false);
        }
    }

    private ObjectDisposedException DisposedError(TKey key, bool loading) => new(
        nameof(LadderCache),
        loading
            ? $"The Ladder cache '{Context.Metrics.CacheName}' was disposed while view '{Name}' key '{key}' was loading: the load was cancelled and its readers released."
            : $"The Ladder cache '{Context.Metrics.CacheName}' was disposed: view '{Name}' cannot load key '{key}'.");

    /// <summary>
    /// The synchronous reader's wait. With a load timeout it keeps the limit itself, by the cache's clock: the timer
    /// that ends the load runs its callback on a thread-pool thread, which a starved pool (the reader and a blocking
    /// loader each hold one) provides late. The OS wait below is only how long to sleep before looking at the clock
    /// again; whether the limit has passed is always the TimeProvider's answer, so a fake clock still rules in tests.
    /// </summary>
    private TValue WaitSynchronously(Flight flight)
    {
        var task = flight.Task;
        if (flight.Limit is { } limit)
        {
            Task[]? waitOn = null;
            while (!task.IsCompleted)
            {
                var remaining = limit - Context.Time.GetElapsedTime(flight.Started);
                if (remaining <= TimeSpan.Zero)
                {
                    TimeOutFromReader(flight);
                    break;
                }

                waitOn ??= [task];
                _ = Task.WaitAny(waitOn, (int)Math.Min(Math.Ceiling(remaining.TotalMilliseconds), int.MaxValue));
            }
        }

        return task.GetAwaiter().GetResult();
    }

    private async ValueTask<CacheResult<TValue>> LoadAsync(TKey key, CancellationToken cancellationToken)
    {
        Context.Metrics.Miss(Tag);
        ThrowIfReentrant(key);
        var flight = Acquire(key, background: false, out var current);
        if (current is not null)
        {
            return new CacheResult<TValue>(current.Value, isStale: false, isFailSafe: false);
        }

        // A loader waiting on another load records the wait, so a cycle of loads across flows fails instead of
        // deadlocking (LoadContext.BeginWait).
        var waiting = LoadContext.BeginWait(flight!, Name, key);
        try
        {
            var value = await flight!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new CacheResult<TValue>(value, isStale: false, isFailSafe: false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && TryFailSafe(key, out var last))
        {
            return new CacheResult<TValue>(last.Value, isStale: true, isFailSafe: true);
        }
        finally
        {
            LoadContext.EndWait(waiting);
        }
    }

    /// <summary>A stored value and the stamp its load started from.</summary>
    private sealed class Entry(TValue value, Stamp stamp, long loadStarted)
    {
        public readonly TValue Value = value;

        public readonly Stamp Stamp = stamp;

        public readonly long LoadStarted = loadStarted;
    }
}
