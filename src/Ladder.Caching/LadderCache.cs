using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Ladder.Caching.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Caching;

/// <summary>
/// The cache: every declared view, and the publish side that invalidates them. One per application (a singleton);
/// <c>services.AddLadderCaching(...)</c> registers it.
/// </summary>
public sealed partial class LadderCache : IChangePublisher, IDisposable
{
    private readonly Dictionary<string, ViewBase> _views;
    private readonly PublishIndex _index;
    private readonly CachingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly bool _logUnknown;
    private readonly IInvalidationBackplane? _backplane;
    private readonly BackplaneReceiver _receiver;
    private readonly IDisposable? _subscription;

    // Cancelled by Dispose: every running load is registered on it (its readers are released, its loader cancelled)
    // and a loader without a load timeout gets its token. Never disposed: a cancelled source without a timer holds
    // nothing, and loads that race Dispose still register on its token.
    private readonly CancellationTokenSource _disposing = new();
    private int _disposed;

    /// <summary>Builds the cache from the declared views.</summary>
    /// <param name="options">The dependency map and views.</param>
    /// <param name="timeProvider">Every clock, timer and timeout; default <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging; default none.</param>
    /// <param name="meterFactory">Creates the "Ladder.Caching" meter; default a meter of its own.</param>
    /// <param name="backplane">Carries changes to and from other nodes; default none (a single node).</param>
    /// <param name="services">Given to loaders that take services; default an empty provider.</param>
    /// <exception cref="CacheConfigurationException">The options are invalid; every problem is listed.</exception>
    public LadderCache(
        LadderCachingOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        IInvalidationBackplane? backplane = null,
        IServiceProvider? services = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new CacheConfigurationException(failures);
        }

        NodeId = options.NodeId;
        _logUnknown = options.LogUnknownChanges;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Ladder.Caching");
        _metrics = new CachingMetrics(meterFactory, options.Name);
        var context = new ViewContext(timeProvider ?? TimeProvider.System, _logger, _metrics, services ?? EmptyServices.Instance, _disposing.Token);
        _views = options.Views.ToDictionary(v => v.Name, v => v.Build(context), StringComparer.Ordinal);
        _index = new PublishIndex([.. _views.Values], options.Entities);
        Dependencies = [.. options.Views.SelectMany(v => v.Dependencies.Select(d => new DependencyRow(
            v.Name,
            d.Entity,
            d.Fields,
            d switch
            {
                { EntityKeyOf: not null } => "per entry",
                { FixedKeys: { } keys } => string.Join(',', keys),
                _ => "any",
            })))];
        _receiver = new BackplaneReceiver(this);
        _backplane = backplane;
        _subscription = backplane?.Subscribe(_receiver);
    }

    /// <summary>The cache's name (<see cref="LadderCachingOptions.Name"/>): the <c>cache</c> tag of its measurements.</summary>
    public string Name => _metrics.CacheName;

    /// <summary>This node's name on the backplane.</summary>
    public string NodeId { get; }

    /// <summary>The dependency map as a table: one row per (view, dependency).</summary>
    public IReadOnlyList<DependencyRow> Dependencies { get; }

    /// <summary>The keyed view named <paramref name="name"/>. Look it up once and keep it.</summary>
    /// <typeparam name="TKey">Its key type, as declared.</typeparam>
    /// <typeparam name="TValue">Its value type, as declared.</typeparam>
    /// <param name="name">The name.</param>
    /// <returns>The view.</returns>
    /// <exception cref="CacheViewNotFoundException">No such view, or declared with other types.</exception>
    public CacheView<TKey, TValue> View<TKey, TValue>(string name)
        where TKey : notnull =>
        new(Find<ViewCore<TKey, TValue>>(name, $"View<{typeof(TKey).Name}, {typeof(TValue).Name}>"));

    /// <summary>The single-value view named <paramref name="name"/>. Look it up once and keep it.</summary>
    /// <typeparam name="TValue">Its value type, as declared.</typeparam>
    /// <param name="name">The name.</param>
    /// <returns>The view.</returns>
    /// <exception cref="CacheViewNotFoundException">No such view, or declared with another type.</exception>
    public CacheSingleView<TValue> SingleView<TValue>(string name) =>
        new(Find<ViewCore<SingleKey, TValue>>(name, $"SingleView<{typeof(TValue).Name}>"));

    /// <summary>Opens a <see cref="ChangeScope"/> that publishes here when completed.</summary>
    /// <returns>The scope.</returns>
    public ChangeScope BeginChanges() => new(this);

    /// <inheritdoc />
    public void Publish(in Change change)
    {
        Apply(change);
        _backplane?.Send(_receiver, new ReadOnlySpan<Change>(in change));
    }

    /// <inheritdoc />
    public void Publish(ReadOnlySpan<Change> changes)
    {
        foreach (ref readonly var change in changes)
        {
            Apply(change);
        }

        _backplane?.Send(_receiver, changes);
    }

    /// <summary>Invalidates every entry of every view (e.g. after missing changes); one increment per view.</summary>
    public void InvalidateAll()
    {
        foreach (var view in _views.Values)
        {
            view.BumpView();
        }
    }

    /// <summary>The names of the views a change would invalidate (all of a view's entries, or the changed row's).</summary>
    /// <param name="change">The change.</param>
    /// <returns>The view names, each once; empty when the change is irrelevant or unknown.</returns>
    public IReadOnlyList<string> AffectedViews(in Change change)
    {
        var affected = new List<string>();
        if (!_index.TryGetEntity(change.Entity, out var entity))
        {
            return affected;
        }

        IEnumerable<Internal.Target> targets = entity.All;
        if (change.Fields.Length > 0)
        {
            var matched = new List<Internal.Target>();
            foreach (var field in change.Fields)
            {
                if (entity.TryGetTargets(field, out var forField))
                {
                    matched.AddRange(forField);
                }
            }

            targets = matched;
        }

        var key = change.Key;
        affected.AddRange(targets.Where(t => t.Overlaps(key)).Select(t => t.View.Name).Distinct(StringComparer.Ordinal));
        return affected;
    }

    /// <summary>The dependency map as a Markdown table (view, entity, fields, keys).</summary>
    /// <returns>The table.</returns>
    public string DescribeDependencies()
    {
        var text = new StringBuilder("| view | entity | fields | keys |\n| --- | --- | --- | --- |\n");
        foreach (var row in Dependencies)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.View} | {row.Entity} | {(row.Fields.Count == 0 ? "*" : string.Join(", ", row.Fields))} | {row.Keys} |\n");
        }

        return text.ToString();
    }

    /// <summary>
    /// Leaves the backplane, ends every running load and drops the entries; stops every pending refresh timer.
    /// Readers waiting on a load are released at once with <see cref="ObjectDisposedException"/> (object name
    /// <c>LadderCache</c>), whether or not its loader ever ends, and the loader's token is cancelled. Every read after
    /// this throws the same (<c>TryGet</c> returns <see langword="false"/>). Idempotent; never throws.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _subscription?.Dispose();
        try
        {
            // Runs every load's release (its readers get ObjectDisposedException) and every loader's own
            // cancellation callbacks, here and now.
            _disposing.Cancel();
        }
        catch (AggregateException exception)
        {
            // A loader's cancellation callback threw: its readers are released all the same.
            Log.DisposeCallbacksFailed(_logger, exception);
        }

        foreach (var view in _views.Values)
        {
            view.Dispose();
        }

        _metrics.Dispose();
    }

    internal ViewBase GetView(string name) => _views[name];

    private T Find<T>(string name, string asked)
        where T : ViewBase
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_views.TryGetValue(name, out var view))
        {
            throw new CacheViewNotFoundException(name, $"no view with this name is declared (declared: {string.Join(", ", _views.Keys)}).");
        }

        return view as T ?? throw new CacheViewNotFoundException(
            name,
            $"asked as {asked}, but declared as {(view.Definition.IsSingle ? "SingleView" : "View")}<{(view.Definition.IsSingle ? "" : view.Definition.KeyType.Name + ", ")}{view.Definition.ValueType.Name}>.");
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
