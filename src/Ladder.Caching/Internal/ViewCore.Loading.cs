using Microsoft.Extensions.Caching.Memory;

namespace Ladder.Caching.Internal;

// Single flight: at most one load per key per version; readers of that version share it. (A plain comment: a doc
// comment here would be appended to the type's summary in the XML documentation.)
internal sealed partial class ViewCore<TKey, TValue>
{
    /// <summary>
    /// Returns the flight to wait on, or (in <paramref name="current"/>) an entry that became current meanwhile.
    /// </summary>
    /// <remarks>
    /// Join a flight only if its stamp is current: a flight stamped before a publish that returned before this read
    /// started is stale for this read, so it is replaced, not joined (one load per key per version).
    /// Why 1,000 concurrent readers cause exactly one load: a finishing flight stores its entry, then leaves the map.
    /// A reader that finds no flight then checks the store; if the flight left before that check, its entry was
    /// stored before it too. So a reader either joins the flight or sees its entry; it starts a load only if neither
    /// exists, and TryAdd lets one reader win.
    /// </remarks>
    private Flight? Acquire(TKey key, bool background, out Entry? current)
    {
        // A load started after Dispose would never be released: refuse it. A load that passes this check while
        // Dispose runs is still released: RunAsync registers on the disposal token, which runs at once if cancelled.
        ThrowIfDisposed(key);
        while (true)
        {
            // A flight that has already stored its entry (it leaves the map just after its waiters are released) is
            // not joined: its entry answers, or, if that entry has expired or been evicted meanwhile, a new load replaces
            // the flight. Joining it returned the stored value after its MaxAge (seen with a test clock advanced in that gap).
            if (_flights.TryGetValue(key, out var existing) && IsCurrent(existing.Stamp) && !existing.Task.IsCompletedSuccessfully)
            {
                current = null;
                return existing;
            }

            if (TryGetEntry(key, out var entry) && IsCurrent(entry.Stamp))
            {
                current = entry;
                return null;
            }

            // The stamp is taken here, before the loader runs: this is the moment the load "starts". Stamp and flight
            // go in under the key's stripe, which Release holds from its check to its kill: an eviction callback of the
            // key's old entry either kills the counters before this stamp takes them (the stamp takes fresh ones) or
            // finds this flight using them (and keeps them). Without it, a callback that ran between the two killed
            // the counters this reload had just taken, and the reload was discarded.
            Flight flight;
            bool won;
            if (_entityKeyOf.Length == 0)
            {
                flight = new Flight(this, key, TakeStamp(key), Context.Time.GetTimestamp(), Options.LoadTimeout);
                won = existing is null ? _flights.TryAdd(key, flight) : _flights.TryUpdate(key, flight, existing);
            }
            else
            {
                lock (StripeOf(key))
                {
                    flight = new Flight(this, key, TakeStamp(key), Context.Time.GetTimestamp(), Options.LoadTimeout);
                    won = existing is null ? _flights.TryAdd(key, flight) : _flights.TryUpdate(key, flight, existing);
                }
            }

            if (won)
            {
                Start(key, flight, background);
                current = null;
                return flight;
            }
        }
    }

    private Stamp TakeStamp(TKey key)
    {
        var version = Version;
        if (_entityKeyOf.Length == 0)
        {
            return new Stamp(version, null, null, null);
        }

        var counters = new KeyCounter[_entityKeyOf.Length];
        var values = new long[_entityKeyOf.Length];
        var entityKeys = new string[_entityKeyOf.Length];
        for (var slot = 0; slot < _entityKeyOf.Length; slot++)
        {
            var entityKey = _entityKeyOf[slot](key) ?? throw new InvalidOperationException($"View '{Name}': the entity key selector returned null for key '{key}'.");
            var map = KeyCounters[slot];
            while (true)
            {
                var counter = map.GetOrAdd(entityKey, static _ => new KeyCounter());
                var value = Volatile.Read(ref counter.Value);
                if (value >= 0)
                {
                    (counters[slot], values[slot], entityKeys[slot]) = (counter, value, entityKey);
                    break;
                }

                // Killed by an eviction that has not removed it yet: help remove it and take a fresh one.
                map.TryRemove(new KeyValuePair<string, KeyCounter>(entityKey, counter));
            }
        }

        // Dekker with ViewBase.BumpKey: the counters this load created are visible before its loader reads data.
        Interlocked.MemoryBarrier();
        return new Stamp(version, counters, values, entityKeys);
    }

    private void Start(TKey key, Flight flight, bool background)
    {
        if (background)
        {
            // Background (stale-while-revalidate, eager refresh): never run the loader on the reader's thread, and
            // do not flow the reader's context (its load marks) into it.
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.View.RunAsync(state.Key, state.Flight), (View: this, Key: key, Flight: flight), preferLocal: false);
            flight.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        else
        {
            _ = RunAsync(key, flight);
        }
    }

    private async Task RunAsync(TKey key, Flight flight)
    {
        var started = flight.Started;
        CancellationTokenRegistration onTimeout = default;
        CancellationTokenRegistration onDispose = default;
        TValue value = default!;
        Exception? failure = null;
        try
        {
            // Everything that can throw runs inside this try: a throw before it would leave a current flight that
            // never completes (every reader of the key hangs). The timeout starts before the yield, so it also
            // covers the time the load waits for a thread.
            var token = Context.Disposing;
            if (flight.Limit is { } limit)
            {
                var timeout = new CancellationTokenSource(limit, Context.Time);
                Volatile.Write(ref flight.Timeout, timeout);
                token = timeout.Token;
                onTimeout = timeout.Token.UnsafeRegister(static state => ((Flight)state!).Owner.OnTimedOut((Flight)state), flight);
            }

            // Dispose releases this load's readers and cancels its loader, whether or not the loader ever ends.
            // Registered after the timeout source exists (the callback cancels it), and run at once when the cache is
            // already disposed, so a load that slipped past Acquire's check is released too.
            onDispose = Context.Disposing.UnsafeRegister(static state => ((Flight)state!).Owner.OnDisposed((Flight)state), flight);

            // Never run the loader on the reader's thread: a loader that blocks synchronously would otherwise block
            // the reader before it reaches WaitAsync, so neither its cancellation nor the load timeout could release
            // it. The execution context still flows, so reentrancy detection sees the reader's load marks.
            await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            LoadContext.Enter(this, key, flight);
            using var activity = CachingMetrics.Source.StartActivity("ladder.caching.load");
            activity?.SetTag("ladder.caching.view", Name);
            activity?.SetTag("ladder.caching.cache", Context.Metrics.CacheName);

            // Disposed while this load waited for a thread (a read, then Dispose at once, as at shutdown): its readers
            // are released already; the loader is not called on a disposed cache (its services may be gone too).
            Context.Disposing.ThrowIfCancellationRequested();
            value = await _load(key, token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            failure = exception;
        }

        // The load's timer goes before its readers are released: once they resume, a finished load owns no live timer
        // (a clock moved past the limit afterwards must not fire it; the idle guarantee counts timer callbacks).
        // Both registrations go before the source: their callbacks use it, and DisposeAsync waits for a running one.
        await onDispose.DisposeAsync().ConfigureAwait(false);
        await onTimeout.DisposeAsync().ConfigureAwait(false);
        var timeoutSource = Interlocked.Exchange(ref flight.Timeout, null);
        var timedOut = timeoutSource?.IsCancellationRequested == true;
        timeoutSource?.Dispose();

        if (Context.Disposing.IsCancellationRequested)
        {
            // Disposed while the loader ran: whatever it returned or threw (often the cancellation Dispose caused),
            // its readers are told the cache was disposed, and nothing is stored in a disposed cache.
            OnDisposed(flight);
            return;
        }

        if (failure is null)
        {
            try
            {
                Complete(key, flight, value, started);
                return;
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        }

        if (failure is OperationCanceledException && timedOut)
        {
            // The loader honoured its timeout token and got here before the timeout's own callback ran (it saw the
            // token cancelled on another thread, or another callback on the token ended it first), and disposing
            // the registration above may have cancelled that callback: this is the timeout, reported as such.
            OnTimedOut(flight);
            return;
        }

        // Nothing is stored: a failed load poisons no entry. The flight leaves the map before it faults, so a waiter
        // that retries at once never joins the faulted flight.
        _flights.TryRemove(new KeyValuePair<TKey, Flight>(key, flight));
        Release(key, flight.Stamp);
        if (flight.Tcs.TrySetException(failure))
        {
            Context.Metrics.Loaded(Tag, "failed", Context.Time.GetElapsedTime(started));
            Log.LoadFailed(Context.Logger, failure, Name, key);
        }
    }

    private void Complete(TKey key, Flight flight, TValue value, long started)
    {
        // Storing only a current result is an economy, not the guarantee: a publish may land between this check and
        // the store, and then every later read rejects the entry by its stamp anyway.
        var stored = IsCurrent(flight.Stamp);
        if (stored)
        {
            Store(key, value, flight.Stamp, started);
        }
        else
        {
            Log.LoadDiscarded(Context.Logger, Name, key);
        }

        if (!stored)
        {
            // A discarded load leaves the map and releases its counters (nothing else would) before its waiters are
            // released, so a waiter that looks at the view afterwards never sees the dead load's leftovers. Leaving
            // early is safe here: its result is not current, so no reader may join the flight or wait for an entry.
            _flights.TryRemove(new KeyValuePair<TKey, Flight>(key, flight));
            Release(key, flight.Stamp);
        }

        if (flight.Tcs.TrySetResult(value))
        {
            Context.Metrics.Loaded(Tag, stored ? "stored" : "discarded", Context.Time.GetElapsedTime(started));
        }

        if (stored)
        {
            // After the store, never before: see Acquire for why this order makes one load per stampede.
            _flights.TryRemove(new KeyValuePair<TKey, Flight>(key, flight));
        }
    }

    private void Store(TKey key, TValue value, Stamp stamp, long started)
    {
        var entry = _store.CreateEntry(key);
        entry.Value = new Entry(value, stamp, started);
        if (Options.SizeLimit is not null)
        {
            entry.Size = _sizeOf?.Invoke(value) ?? 1;
        }

        if (Options.MaxAge is { } maxAge)
        {
            entry.AbsoluteExpirationRelativeToNow = maxAge;
        }

        if (stamp.Counters is not null)
        {
            entry.RegisterPostEvictionCallback(OnEvicted, this);
        }

        entry.Dispose();   // stores it

        // Dekker with LadderCache.Dispose (cancel the disposal token, then clear the store): either the clear sees this
        // entry, or this sees the token cancelled. A disposed cache holds nothing.
        if (Context.Disposing.IsCancellationRequested)
        {
            _store.Remove(key);
        }
    }

    /// <summary>Post-eviction callbacks that ran to the end (tests wait on it: the callback runs asynchronously).</summary>
    public int EvictionsHandled => Volatile.Read(ref _evictionsHandled);

    /// <summary>An entry left the store (evicted, expired): its key counters go too, so their number stays bounded.</summary>
    private void Forget(object key, object? value, EvictionReason reason)
    {
        if (reason != EvictionReason.Replaced && value is Entry { Stamp: { } stamp })
        {
            Release((TKey)key, stamp);
        }

        Interlocked.Increment(ref _evictionsHandled);
    }

    /// <summary>
    /// Kills and removes the key counters of <paramref name="stamp"/> unless the key's current flight or stored entry
    /// still uses them. The eviction callback runs asynchronously: by then a reader may already have started (or
    /// stored) a reload stamped with the same counter, and killing it would discard that reload. Keeping a counter
    /// is always safe (it only grows); killing one is safe too, it only costs a reload. For the same key the check does
    /// not race: it runs under the key's stripe, as Acquire's stamp and flight do. Another key whose entity key maps to
    /// the same counter is not looked at; killing its counter costs that key one reload.
    /// </summary>
    private void Release(TKey key, Stamp stamp)
    {
        if (stamp.Counters is not { } counters || stamp.EntityKeys is not { } keys)
        {
            return;
        }

        lock (StripeOf(key))
        {
            ReleaseLocked(key, counters, keys);
        }
    }

    private void ReleaseLocked(TKey key, KeyCounter[] counters, string[] keys)
    {
        for (var slot = 0; slot < counters.Length; slot++)
        {
            var counter = counters[slot];
            if ((_flights.TryGetValue(key, out var flight) && Uses(flight.Stamp, counter))
                || (TryGetEntry(key, out var entry) && Uses(entry.Stamp, counter)))
            {
                continue;
            }

            // Kill first, then remove. The other order leaves a window where a publish finds no counter (so bumps
            // nothing) while an entry still holding the live counter passes its check: a stale read.
            counter.Kill();
            KeyCounters[slot].TryRemove(new KeyValuePair<string, KeyCounter>(keys[slot], counter));
        }
    }

    private static bool Uses(Stamp stamp, KeyCounter counter) => stamp.Counters is { } counters && Array.IndexOf(counters, counter) >= 0;

    protected override int RefreshInvalidated()
    {
        var started = 0;
        foreach (var stored in _store.Keys)
        {
            if (stored is TKey key && _store.TryGetValue(key, out var value) && value is Entry entry && !IsCurrent(entry.Stamp))
            {
                _ = Acquire(key, background: true, out _);
                started++;
            }
        }

        return started;
    }

    private void OnTimedOut(Flight flight)
    {
        // Release the waiters now, whether or not the loader honours its token; the key is free for a new load.
        // The flight leaves the map first (a waiter that retries never joins it); this runs on a timer (or on a
        // synchronous reader's thread), so it never throws: a throwing logger or listener is swallowed here.
        var key = flight.Key;
        _flights.TryRemove(new KeyValuePair<TKey, Flight>(key, flight));
        Release(key, flight.Stamp);
        if (flight.Tcs.TrySetException(new CacheLoadTimeoutException(Name, key, flight.Limit!.Value)))
        {
            try
            {
                Context.Metrics.Loaded(Tag, "timed_out", Context.Time.GetElapsedTime(flight.Started));
                Log.LoadTimedOut(Context.Logger, Name, key, flight.Limit.Value);
            }
#pragma warning disable CA1031 // A timer callback must not throw: the waiters are released, only the report is lost.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>
    /// A synchronous reader whose load ran past its limit by the cache's clock ends it itself: the timeout's timer
    /// callback needs a thread-pool thread, and with the reader and a blocking loader each holding one, a starved pool
    /// ran it 400-600 ms late. The reader's thread is blocked here anyway, so it keeps the limit.
    /// </summary>
    private void TimeOutFromReader(Flight flight)
    {
        OnTimedOut(flight);
        try
        {
            // Cancels the loader's token too, as the timer would have (its callback then finds the flight released).
            // CancelAsync: the token is cancelled now, but the loader's callbacks run on the pool, not here. They are
            // the loader's code (a driver's Cancel that waits for its server, a lock the caller may hold): run on the
            // reader's thread, they made the limit it keeps as late as they are, or never on a lock.
            Volatile.Read(ref flight.Timeout)?.CancelAsync().ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (ObjectDisposedException)
        {
            // The load finished meanwhile and disposed its source: nothing left to cancel.
        }
    }

    /// <summary>
    /// The cache was disposed: release the readers of this load, then cancel its loader. The readers are released
    /// before anything can throw; the loader's own cancellation callbacks may throw (AggregateException), which
    /// <see cref="LadderCache.Dispose"/> catches around the disposal token's cancel and logs.
    /// </summary>
    private void OnDisposed(Flight flight)
    {
        _flights.TryRemove(new KeyValuePair<TKey, Flight>(flight.Key, flight));
        flight.Tcs.TrySetException(DisposedError(flight.Key, loading: true));
        try
        {
            Volatile.Read(ref flight.Timeout)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The load finished meanwhile and disposed its source: nothing left to cancel.
        }
    }

    private sealed class Flight(ViewCore<TKey, TValue> owner, TKey key, Stamp stamp, long started, TimeSpan? limit) : LoadFlight
    {
        public readonly ViewCore<TKey, TValue> Owner = owner;

        public readonly TKey Key = key;

        public readonly Stamp Stamp = stamp;

        /// <summary>When the stamp was taken: the load's start, by the cache's clock.</summary>
        public readonly long Started = started;

        /// <summary>The view's load timeout when the load started.</summary>
        public readonly TimeSpan? Limit = limit;

        public readonly TaskCompletionSource<TValue> Tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The load timeout's source (the loader's token) while the loader runs; null without a limit.</summary>
        public CancellationTokenSource? Timeout;

        public Task<TValue> Task => Tcs.Task;

        public override string Label => $"view '{Owner.Name}' key '{Key}'";
    }
}
