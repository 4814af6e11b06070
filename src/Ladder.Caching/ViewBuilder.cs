using Ladder.Caching.Internal;

namespace Ladder.Caching;

/// <summary>Declares one view: what it reads (its dependencies), how to load it, and its options.</summary>
/// <typeparam name="TKey">The key of an entry (a page filter, a player id); a single-value view has none.</typeparam>
/// <typeparam name="TValue">The cached value.</typeparam>
public sealed class ViewBuilder<TKey, TValue>
    where TKey : notnull
{
    internal ViewBuilder(string name)
    {
        Definition = new ViewDefinition<TKey, TValue>(name);
    }

    internal ViewDefinition<TKey, TValue> Definition { get; }

    /// <summary>The view's options.</summary>
    public ViewOptions Options => Definition.Options;

    /// <summary>The view depends on <paramref name="fields"/> of every row of <paramref name="entity"/> (no fields: every field).</summary>
    /// <param name="entity">The entity, e.g. <c>"player"</c>.</param>
    /// <param name="fields">The fields read, e.g. <c>"mmr", "name"</c>.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> DependsOn(string entity, params string[] fields)
    {
        Definition.Dependencies.Add(new DependencyDefinition(entity, fields ?? [], null, null));
        return this;
    }

    /// <summary>
    /// Each entry depends on the row of <paramref name="entity"/> whose key <paramref name="entityKeyOf"/> gives: a
    /// change to player 7 reloads player 7's entry only.
    /// </summary>
    /// <param name="entity">The entity, e.g. <c>"player"</c>.</param>
    /// <param name="entityKeyOf">Maps the entry's key to the entity key, e.g. <c>id =&gt; id.ToString()</c>.</param>
    /// <param name="fields">The fields read; none for every field.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> DependsOn(string entity, Func<TKey, string> entityKeyOf, params string[] fields)
    {
        Definition.Dependencies.Add(new DependencyDefinition(entity, fields ?? [], null, entityKeyOf));
        return this;
    }

    /// <summary>The view depends on the listed rows of <paramref name="entity"/> only.</summary>
    /// <param name="entity">The entity.</param>
    /// <param name="keys">The entity keys read.</param>
    /// <param name="fields">The fields read; none for every field.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> DependsOnKeys(string entity, IEnumerable<string> keys, params string[] fields)
    {
        Definition.Dependencies.Add(new DependencyDefinition(entity, fields ?? [], keys?.ToArray() ?? [], null));
        return this;
    }

    /// <summary>Sets the loader.</summary>
    /// <param name="load">Computes the value of a key; it runs once per key per version, whatever the number of readers.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> Load(Func<TKey, CancellationToken, ValueTask<TValue>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Definition.Loader = _ => load;
        return this;
    }

    /// <summary>Sets a loader that uses the application's services (the root provider).</summary>
    /// <param name="load">Computes the value of a key.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> Load(Func<IServiceProvider, TKey, CancellationToken, ValueTask<TValue>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Definition.Loader = services => (key, ct) => load(services, key, ct);
        return this;
    }

    /// <summary>Sets a synchronous loader.</summary>
    /// <param name="load">Computes the value of a key.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> Load(Func<TKey, TValue> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Definition.Loader = _ => (key, _) => new ValueTask<TValue>(load(key));
        return this;
    }

    /// <summary>Lazy refresh (the default): the next read after a change loads.</summary>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> Lazy()
    {
        Options.Refresh = RefreshMode.Lazy;
        return this;
    }

    /// <summary>Eager refresh: gather changes for <paramref name="debounce"/>, then reload the invalidated entries once.</summary>
    /// <param name="debounce">The window; positive and under 49 days.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> EagerRefresh(TimeSpan debounce)
    {
        Options.Refresh = RefreshMode.Eager;
        Options.RefreshDebounce = debounce;
        return this;
    }

    /// <summary>Serve an invalidated value, flagged stale, while one background load runs; see <see cref="ViewOptions.StaleWhileRevalidate"/>.</summary>
    /// <param name="maxStaleness">Serve only values loaded at most this long ago.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> StaleWhileRevalidate(TimeSpan maxStaleness)
    {
        Options.StaleWhileRevalidate = maxStaleness;
        return this;
    }

    /// <summary>Limit a load's duration; see <see cref="ViewOptions.LoadTimeout"/>.</summary>
    /// <param name="timeout">The limit; positive.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> LoadTimeout(TimeSpan timeout)
    {
        Options.LoadTimeout = timeout;
        return this;
    }

    /// <summary>Serve the last good value, flagged, when a load fails; see <see cref="ViewOptions.FailSafe"/>.</summary>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> FailSafe()
    {
        Options.FailSafe = true;
        return this;
    }

    /// <summary>Drop an entry this long after it was loaded even with no change; see <see cref="ViewOptions.MaxAge"/>.</summary>
    /// <param name="maxAge">The age; positive and at most 100 years.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> MaxAge(TimeSpan maxAge)
    {
        Options.MaxAge = maxAge;
        return this;
    }

    /// <summary>Bound the view's size; see <see cref="ViewOptions.SizeLimit"/>.</summary>
    /// <param name="limit">The most total size; positive.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> SizeLimit(long limit)
    {
        Options.SizeLimit = limit;
        return this;
    }

    /// <summary>The size an entry counts for against <see cref="ViewOptions.SizeLimit"/> (default 1).</summary>
    /// <param name="sizeOf">Computes the size of a value; positive.</param>
    /// <returns>This builder.</returns>
    public ViewBuilder<TKey, TValue> SizeOf(Func<TValue, long> sizeOf)
    {
        Definition.SizeOf = sizeOf;
        return this;
    }
}
