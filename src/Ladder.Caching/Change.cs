namespace Ladder.Caching;

/// <summary>
/// What a committed write did: an entity (<c>"player"</c>), optionally the key of the row (<c>"42"</c>), and the
/// fields that changed (<c>mmr</c>, <c>country</c>). Publish it after the transaction commits.
/// </summary>
/// <remarks>
/// No fields means "the whole entity changed" (an insert or a delete): it overlaps every dependency on the entity.
/// No key means "any row": it overlaps every key. Keep the field arrays static where you can: publishing then
/// allocates nothing.
/// </remarks>
public readonly struct Change : IEquatable<Change>
{
    private readonly string[]? _fields;

    /// <summary>Creates a change.</summary>
    /// <param name="entity">The entity that was written, e.g. <c>"player"</c>.</param>
    /// <param name="key">The key of the written row, e.g. <c>"42"</c>; <see langword="null"/> for "any row".</param>
    /// <param name="fields">The fields that changed; none for "every field" (insert, delete).</param>
    public Change(string entity, string? key, params string[] fields)
    {
        Entity = entity;
        Key = key;
        _fields = fields;
    }

    /// <summary>The entity that was written.</summary>
    public string Entity { get; }

    /// <summary>The key of the written row, or <see langword="null"/> when the change concerns any row.</summary>
    public string? Key { get; }

    /// <summary>The fields that changed; empty means every field.</summary>
    public ReadOnlySpan<string> Fields => _fields;

    /// <summary>A change of every field of every row of <paramref name="entity"/>.</summary>
    /// <param name="entity">The entity.</param>
    /// <returns>The change.</returns>
    public static Change AllOf(string entity) => new(entity, null);

    /// <inheritdoc />
    public bool Equals(Change other) =>
        string.Equals(Entity, other.Entity, StringComparison.Ordinal)
        && string.Equals(Key, other.Key, StringComparison.Ordinal)
        && Fields.SequenceEqual(other.Fields);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Change other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Entity, Key);

    /// <summary>Compares two changes by entity, key and fields.</summary>
    /// <param name="left">The first change.</param>
    /// <param name="right">The second change.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(Change left, Change right) => left.Equals(right);

    /// <summary>Compares two changes by entity, key and fields.</summary>
    /// <param name="left">The first change.</param>
    /// <param name="right">The second change.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Change left, Change right) => !left.Equals(right);

    /// <summary>Formats the change as <c>entity[key].{field,field}</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        $"{Entity}{(Key is null ? "" : $"[{Key}]")}.{(_fields is null || _fields.Length == 0 ? "*" : "{" + string.Join(',', _fields) + "}")}";
}
