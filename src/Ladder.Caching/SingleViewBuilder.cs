using Ladder.Caching.Internal;

namespace Ladder.Caching;

/// <summary>Declares a single-value view (one snapshot: a ladder summary, a config table).</summary>
/// <typeparam name="TValue">The cached value.</typeparam>
public sealed class SingleViewBuilder<TValue>
{
    internal SingleViewBuilder(string name)
    {
        Inner = new ViewBuilder<SingleKey, TValue>(name);
    }

    internal ViewBuilder<SingleKey, TValue> Inner { get; }

    /// <summary>The view's options (refresh mode, stale-while-revalidate, timeout, fail-safe).</summary>
    public ViewOptions Options => Inner.Options;

    /// <summary>The value depends on <paramref name="fields"/> of every row of <paramref name="entity"/> (no fields: every field).</summary>
    /// <param name="entity">The entity.</param>
    /// <param name="fields">The fields read.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> DependsOn(string entity, params string[] fields)
    {
        Inner.DependsOn(entity, fields);
        return this;
    }

    /// <summary>The value depends on the listed rows of <paramref name="entity"/> only.</summary>
    /// <param name="entity">The entity.</param>
    /// <param name="keys">The entity keys read.</param>
    /// <param name="fields">The fields read; none for every field.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> DependsOnKeys(string entity, IEnumerable<string> keys, params string[] fields)
    {
        Inner.DependsOnKeys(entity, keys, fields);
        return this;
    }

    /// <summary>Sets the loader.</summary>
    /// <param name="load">Computes the value.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> Load(Func<CancellationToken, ValueTask<TValue>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Inner.Load((_, ct) => load(ct));
        return this;
    }

    /// <summary>Sets a loader that uses the application's services (the root provider).</summary>
    /// <param name="load">Computes the value.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> Load(Func<IServiceProvider, CancellationToken, ValueTask<TValue>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Inner.Load((IServiceProvider services, SingleKey _, CancellationToken ct) => load(services, ct));
        return this;
    }

    /// <summary>Sets a synchronous loader.</summary>
    /// <param name="load">Computes the value.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> Load(Func<TValue> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Inner.Load(_ => load());
        return this;
    }

    /// <summary>Drop the value this long after it was loaded even with no change; see <see cref="ViewOptions.MaxAge"/>.</summary>
    /// <param name="maxAge">The age; positive and at most 100 years.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> MaxAge(TimeSpan maxAge)
    {
        Inner.MaxAge(maxAge);
        return this;
    }

    /// <summary>Eager refresh: gather changes for <paramref name="debounce"/>, then reload once.</summary>
    /// <param name="debounce">The window; positive.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> EagerRefresh(TimeSpan debounce)
    {
        Inner.EagerRefresh(debounce);
        return this;
    }

    /// <summary>Serve an invalidated value, flagged stale, while one background load runs; see <see cref="ViewOptions.StaleWhileRevalidate"/>.</summary>
    /// <param name="maxStaleness">Serve only values loaded at most this long ago.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> StaleWhileRevalidate(TimeSpan maxStaleness)
    {
        Inner.StaleWhileRevalidate(maxStaleness);
        return this;
    }

    /// <summary>Limit a load's duration; see <see cref="ViewOptions.LoadTimeout"/>.</summary>
    /// <param name="timeout">The limit; positive.</param>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> LoadTimeout(TimeSpan timeout)
    {
        Inner.LoadTimeout(timeout);
        return this;
    }

    /// <summary>Serve the last good value, flagged, when a load fails; see <see cref="ViewOptions.FailSafe"/>.</summary>
    /// <returns>This builder.</returns>
    public SingleViewBuilder<TValue> FailSafe()
    {
        Inner.FailSafe();
        return this;
    }
}
