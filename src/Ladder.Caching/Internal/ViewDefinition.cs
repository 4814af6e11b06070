using Microsoft.Extensions.Logging;

namespace Ladder.Caching.Internal;

/// <summary>One declared dependency: entity, fields (empty = all), and which keys (none = any; fixed list; or per entry).</summary>
internal sealed record DependencyDefinition(string Entity, string[] Fields, string[]? FixedKeys, Delegate? EntityKeyOf);

/// <summary>A view as declared, before the cache builds it.</summary>
internal abstract class ViewDefinition(string name)
{
    public string Name { get; } = name;

    public ViewOptions Options { get; } = new();

    public List<DependencyDefinition> Dependencies { get; } = [];

    public bool IsSingle { get; set; }

    public abstract bool HasLoader { get; }

    public abstract Type KeyType { get; }

    public abstract Type ValueType { get; }

    public abstract ViewBase Build(ViewContext context);
}

internal sealed class ViewDefinition<TKey, TValue>(string name) : ViewDefinition(name)
    where TKey : notnull
{
    public Func<IServiceProvider, Func<TKey, CancellationToken, ValueTask<TValue>>>? Loader { get; set; }

    public Func<TValue, long>? SizeOf { get; set; }

    public override bool HasLoader => Loader is not null;

    public override Type KeyType => typeof(TKey);

    public override Type ValueType => typeof(TValue);

    public override ViewBase Build(ViewContext context) => new ViewCore<TKey, TValue>(this, context);
}

/// <summary>What every view shares from its cache; <paramref name="Disposing"/> is cancelled when the cache is disposed.</summary>
internal sealed record ViewContext(TimeProvider Time, ILogger Logger, CachingMetrics Metrics, IServiceProvider Services, CancellationToken Disposing);

/// <summary>The key of a single-value view's one entry: a reference type, so reads never box.</summary>
internal sealed class SingleKey
{
    public static readonly SingleKey Instance = new();

    private SingleKey()
    {
    }

    public override string ToString() => "(single)";
}
