using Ladder.Caching.Internal;

namespace Ladder.Caching;

/// <summary>
/// The whole dependency map, declared once: the entities writers publish, and every view with what it reads.
/// Readable afterwards as a table (<see cref="LadderCache.Dependencies"/>).
/// </summary>
public sealed class LadderCachingOptions
{
    private readonly List<ViewDefinition> _views = [];
    private readonly List<(string Entity, string[] Fields)> _entities = [];

    /// <summary>
    /// Log a change that names an unknown entity or field (a Warning; such changes are always ignored and counted).
    /// Default <see langword="true"/>.
    /// </summary>
    public bool LogUnknownChanges { get; set; } = true;

    /// <summary>This node's name on the backplane. Default: a new GUID.</summary>
    public string NodeId { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>
    /// The cache's name, the <c>cache</c> tag of every measurement (so two caches in one process can be told apart).
    /// Default <c>"default"</c>.
    /// </summary>
    public string Name { get; set; } = "default";

    internal IReadOnlyList<ViewDefinition> Views => _views;

    internal IReadOnlyList<(string Entity, string[] Fields)> Entities => _entities;

    /// <summary>
    /// Declares an entity writers publish and, optionally, all its fields. A change naming a field outside a
    /// declared list is counted as unknown (a typo shows up instead of silently invalidating nothing). Entities
    /// that views depend on are known without this.
    /// </summary>
    /// <param name="entity">The entity, e.g. <c>"player"</c>.</param>
    /// <param name="fields">All its fields, e.g. <c>"name", "country", "mmr", "preferences"</c>; none: any field is known.</param>
    /// <returns>These options.</returns>
    public LadderCachingOptions Entity(string entity, params string[] fields)
    {
        _entities.Add((entity, fields ?? []));
        return this;
    }

    /// <summary>Declares a keyed view (many entries: pages, filters, per-player).</summary>
    /// <typeparam name="TKey">The entry key; prefer a reference type (string, record class): MemoryCache boxes value-type keys on every read.</typeparam>
    /// <typeparam name="TValue">The value.</typeparam>
    /// <param name="name">The view's unique name.</param>
    /// <param name="configure">Declares dependencies, loader and options.</param>
    /// <returns>These options.</returns>
    public LadderCachingOptions View<TKey, TValue>(string name, Action<ViewBuilder<TKey, TValue>> configure)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new ViewBuilder<TKey, TValue>(name);
        configure(builder);
        _views.Add(builder.Definition);
        return this;
    }

    /// <summary>Declares a single-value view (one snapshot).</summary>
    /// <typeparam name="TValue">The value.</typeparam>
    /// <param name="name">The view's unique name.</param>
    /// <param name="configure">Declares dependencies, loader and options.</param>
    /// <returns>These options.</returns>
    public LadderCachingOptions SingleView<TValue>(string name, Action<SingleViewBuilder<TValue>> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new SingleViewBuilder<TValue>(name);
        configure(builder);
        builder.Inner.Definition.IsSingle = true;
        _views.Add(builder.Inner.Definition);
        return this;
    }

    /// <summary>Checks everything and returns every problem (empty when valid).</summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate() => OptionsValidation.Validate(this);
}
