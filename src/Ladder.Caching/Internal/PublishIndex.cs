using System.Collections.Frozen;

namespace Ladder.Caching.Internal;

/// <summary>What one declared dependency does when a change overlaps it.</summary>
internal abstract class Target(ViewBase view, int id)
{
    public ViewBase View { get; } = view;

    /// <summary>Position within its entity's targets, for de-duplicating a change that names several fields.</summary>
    public int Id { get; } = id;

    public abstract void Apply(string? key);

    public abstract bool Overlaps(string? key);
}

/// <summary>The view reads every row of the entity: any overlapping change bumps the view counter.</summary>
internal sealed class AllKeysTarget(ViewBase view, int id) : Target(view, id)
{
    public override void Apply(string? key) => View.BumpView();

    public override bool Overlaps(string? key) => true;
}

/// <summary>The view reads some rows: a change to another row costs one set lookup.</summary>
internal sealed class FixedKeysTarget(ViewBase view, int id, FrozenSet<string> keys) : Target(view, id)
{
    public override void Apply(string? key)
    {
        if (Overlaps(key))
        {
            View.BumpView();
        }
    }

    public override bool Overlaps(string? key) => key is null || keys.Contains(key);
}

/// <summary>Each entry reads one row: a keyed change bumps that row's counter; an unkeyed one bumps the whole view.</summary>
internal sealed class PerEntryTarget(ViewBase view, int id, int slot) : Target(view, id)
{
    public override void Apply(string? key)
    {
        if (key is null)
        {
            View.BumpView();
        }
        else
        {
            View.BumpKey(slot, key);
        }
    }

    public override bool Overlaps(string? key) => true;
}

/// <summary>The dependencies on one entity, precomputed field → targets, so a publish does lookups, never scans.</summary>
internal sealed class EntityIndex
{
    private readonly FrozenDictionary<string, Target[]> _byField;
    private readonly Target[] _anyField;
    private readonly bool _open;

    public EntityIndex(string entity, IReadOnlyList<(DependencyDefinition Dependency, Target Target)> dependencies, string[]? declaredFields)
    {
        Entity = entity;
        All = dependencies.Select(d => d.Target).ToArray();
        _anyField = dependencies.Where(d => d.Dependency.Fields.Length == 0).Select(d => d.Target).ToArray();
        _open = declaredFields is null || declaredFields.Length == 0;
        var fields = dependencies.SelectMany(d => d.Dependency.Fields).Concat(declaredFields ?? []).Distinct(StringComparer.Ordinal);
        _byField = fields.ToFrozenDictionary(
            f => f,
            f => dependencies.Where(d => d.Dependency.Fields.Length == 0 || d.Dependency.Fields.Contains(f, StringComparer.Ordinal)).Select(d => d.Target).ToArray(),
            StringComparer.Ordinal);
    }

    public string Entity { get; }

    /// <summary>Every target: a change that names no field overlaps them all.</summary>
    public Target[] All { get; }

    public int TargetCount => All.Length;

    /// <summary>The targets a change of <paramref name="field"/> overlaps; false when the field is unknown.</summary>
    public bool TryGetTargets(string? field, out Target[] targets)
    {
        if (field is not null && _byField.TryGetValue(field, out targets!))
        {
            return true;
        }

        // Without a declared field list, any field is known and overlaps the dependencies that read every field.
        targets = _anyField;
        return _open && field is not null;
    }
}

/// <summary>Entity → its index; built once from the declared views, immutable afterwards (no locks on publish).</summary>
internal sealed class PublishIndex
{
    private readonly FrozenDictionary<string, EntityIndex> _entities;

    public PublishIndex(IReadOnlyList<ViewBase> views, IReadOnlyList<(string Entity, string[] Fields)> schema)
    {
        var byEntity = new Dictionary<string, List<(DependencyDefinition, Target)>>(StringComparer.Ordinal);
        foreach (var (entity, _) in schema)
        {
            byEntity.TryAdd(entity, []);
        }

        foreach (var view in views)
        {
            var slot = 0;
            foreach (var dependency in view.Definition.Dependencies)
            {
                if (!byEntity.TryGetValue(dependency.Entity, out var list))
                {
                    byEntity[dependency.Entity] = list = [];
                }

                var id = list.Count;
                Target target = dependency switch
                {
                    { EntityKeyOf: not null } => new PerEntryTarget(view, id, slot++),
                    { FixedKeys: { } keys } => new FixedKeysTarget(view, id, keys.ToFrozenSet(StringComparer.Ordinal)),
                    _ => new AllKeysTarget(view, id),
                };
                list.Add((dependency, target));
            }
        }

        var declared = schema.ToDictionary(s => s.Entity, s => s.Fields, StringComparer.Ordinal);
        _entities = byEntity.ToFrozenDictionary(
            e => e.Key,
            e => new EntityIndex(e.Key, e.Value, declared.GetValueOrDefault(e.Key)),
            StringComparer.Ordinal);
    }

    public bool TryGetEntity(string? entity, out EntityIndex index)
    {
        if (entity is not null && _entities.TryGetValue(entity, out index!))
        {
            return true;
        }

        index = null!;
        return false;
    }
}
