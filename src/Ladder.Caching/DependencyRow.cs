namespace Ladder.Caching;

/// <summary>One line of the dependency map: a view reads these fields of these rows of an entity.</summary>
public sealed class DependencyRow
{
    internal DependencyRow(string view, string entity, IReadOnlyList<string> fields, string keys)
    {
        View = view;
        Entity = entity;
        Fields = fields;
        Keys = keys;
    }

    /// <summary>The view.</summary>
    public string View { get; }

    /// <summary>The entity read.</summary>
    public string Entity { get; }

    /// <summary>The fields read; empty means every field.</summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>Which rows: <c>any</c>, <c>per entry</c>, or the listed keys.</summary>
    public string Keys { get; }

    /// <summary>Formats the row as <c>view ← entity.{fields} (keys)</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{View} <- {Entity}.{(Fields.Count == 0 ? "*" : "{" + string.Join(',', Fields) + "}")} ({Keys})";
}
