using Ladder.Caching.Internal;

namespace Ladder.Caching;

// The write path: never throws, never scans entries, allocates nothing for up to 128 dependencies per entity.
// (A plain comment: a doc comment here would be appended to the type's summary in the XML documentation.)
public sealed partial class LadderCache
{
    private void Apply(in Change change)
    {
        if (!_index.TryGetEntity(change.Entity, out var entity))
        {
            _metrics.IgnoredUnknownEntity();
            if (_logUnknown)
            {
                Log.UnknownEntity(_logger, change.Entity);
            }

            return;
        }

        var fields = change.Fields;
        var key = change.Key;
        if (fields.Length == 0)
        {
            foreach (var target in entity.All)
            {
                target.Apply(key);
            }

            return;
        }

        if (fields.Length == 1)
        {
            if (entity.TryGetTargets(fields[0], out var targets))
            {
                foreach (var target in targets)
                {
                    target.Apply(key);
                }
            }
            else
            {
                IgnoredField(entity.Entity, fields[0]);
            }

            return;
        }

        // Several fields may reach the same dependency: bump it once.
        Span<bool> applied = entity.TargetCount <= 128 ? stackalloc bool[entity.TargetCount] : new bool[entity.TargetCount];
        foreach (var field in fields)
        {
            if (!entity.TryGetTargets(field, out var targets))
            {
                IgnoredField(entity.Entity, field);
                continue;
            }

            foreach (var target in targets)
            {
                if (!applied[target.Id])
                {
                    applied[target.Id] = true;
                    target.Apply(key);
                }
            }
        }
    }

    private void IgnoredField(string entity, string? field)
    {
        _metrics.IgnoredUnknownField();
        if (_logUnknown)
        {
            Log.UnknownField(_logger, entity, field);
        }
    }
}
