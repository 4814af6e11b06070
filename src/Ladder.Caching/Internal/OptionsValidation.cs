namespace Ladder.Caching.Internal;

/// <summary>Collects every problem in the options, so start-up lists them all at once.</summary>
internal static class OptionsValidation
{
    private static readonly TimeSpan MaxAgeLimit = TimeSpan.FromDays(36_500);

    public static IReadOnlyList<string> Validate(LadderCachingOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.NodeId))
        {
            failures.Add("NodeId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.Name))
        {
            failures.Add("Name must not be empty (it tags every measurement of the cache).");
        }

        var schema = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (entity, fields) in options.Entities)
        {
            if (string.IsNullOrWhiteSpace(entity))
            {
                failures.Add("An entity declaration has an empty name.");
                continue;
            }

            if (fields.Any(string.IsNullOrWhiteSpace))
            {
                failures.Add($"Entity '{entity}' declares an empty field name.");
            }

            if (!schema.TryAdd(entity, fields))
            {
                failures.Add($"Entity '{entity}' is declared twice.");
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var view in options.Views)
        {
            var label = $"View '{view.Name}'";
            if (string.IsNullOrWhiteSpace(view.Name))
            {
                failures.Add("A view has an empty name.");
            }
            else if (!names.Add(view.Name))
            {
                failures.Add($"{label} is declared twice.");
            }

            if (!view.HasLoader)
            {
                failures.Add($"{label} has no loader (call Load(...)).");
            }

            if (view.Dependencies.Count == 0)
            {
                failures.Add($"{label} depends on nothing: no change would ever invalidate it (call DependsOn(...)).");
            }

            foreach (var dependency in view.Dependencies)
            {
                ValidateDependency(label, dependency, schema, failures);
            }

            ValidateOptions(label, view.Options, failures);
        }

        return failures;
    }

    private static void ValidateDependency(string label, DependencyDefinition dependency, Dictionary<string, string[]> schema, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(dependency.Entity))
        {
            failures.Add($"{label} has a dependency with an empty entity name.");
            return;
        }

        if (dependency.Fields.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{label} depends on an empty field name of '{dependency.Entity}'.");
        }

        if (schema.TryGetValue(dependency.Entity, out var declared) && declared.Length > 0)
        {
            foreach (var field in dependency.Fields.Where(f => !string.IsNullOrWhiteSpace(f) && !declared.Contains(f, StringComparer.Ordinal)))
            {
                failures.Add($"{label} depends on '{dependency.Entity}.{field}', but entity '{dependency.Entity}' declares no field '{field}'.");
            }
        }

        if (dependency.FixedKeys is { Length: 0 })
        {
            failures.Add($"{label} depends on an empty list of '{dependency.Entity}' keys: it would never be invalidated by a keyed change.");
        }

        if (dependency.FixedKeys is not null && dependency.FixedKeys.Any(k => k is null))
        {
            failures.Add($"{label} depends on a null '{dependency.Entity}' key.");
        }
    }

    private static void ValidateOptions(string label, ViewOptions options, List<string> failures)
    {
        if (options.Refresh is not (RefreshMode.Lazy or RefreshMode.Eager))
        {
            failures.Add($"{label}: Refresh must be Lazy or Eager (was {options.Refresh}).");
        }

        // The same upper bound as LoadTimeout: a timer due later than uint.MaxValue - 1 ms cannot be created, and
        // the eager refresh timer is created inside Publish, after the counters were bumped.
        if (options.Refresh == RefreshMode.Eager && (options.RefreshDebounce <= TimeSpan.Zero || options.RefreshDebounce.TotalMilliseconds > uint.MaxValue - 1))
        {
            failures.Add($"{label}: RefreshDebounce must be positive and under 49 days for eager refresh (was {options.RefreshDebounce}).");
        }

        if (options.StaleWhileRevalidate is { } stale && stale <= TimeSpan.Zero)
        {
            failures.Add($"{label}: StaleWhileRevalidate must be positive when set (was {stale}).");
        }

        if (options.LoadTimeout is { } timeout && (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > uint.MaxValue - 1))
        {
            failures.Add($"{label}: LoadTimeout must be positive and under 49 days when set (was {timeout}).");
        }

        if (options.SizeLimit is { } size && size <= 0)
        {
            failures.Add($"{label}: SizeLimit must be positive when set (was {size}).");
        }

        // MemoryCache adds MaxAge to the clock's now when it stores an entry: beyond the calendar (TimeSpan.MaxValue
        // as "never") that addition throws, and every load of the view would fail. 100 years is "never" enough.
        if (options.MaxAge is { } maxAge && (maxAge <= TimeSpan.Zero || maxAge > MaxAgeLimit))
        {
            failures.Add($"{label}: MaxAge must be positive and at most 36500 days (100 years) when set (was {maxAge}).");
        }
    }
}
