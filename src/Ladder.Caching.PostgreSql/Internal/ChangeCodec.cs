using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Ladder.Caching.PostgreSql.Internal;

/// <summary>
/// The JSON of a change-log row's changes, <c>[{"e":"player","k":"42","f":["mmr"]}]</c>, and of a NOTIFY payload's
/// tail, <c>{"n":node,"k":kind,"c":[...]}</c>. Read where it enters: a malformed text is reported, never half-applied.
/// </summary>
internal static class ChangeCodec
{
    public static string WriteChanges(IReadOnlyList<Change> changes)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * changes.Count + 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteArray(writer, changes);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The payload tail (after <c>seq:micros:</c>) carrying the changes, or null when it is too big.</summary>
    public static string? WritePayload(string node, char kind, string changesJson, int maxBytes)
    {
        var buffer = new ArrayBufferWriter<byte>(changesJson.Length + node.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("n", node);
            writer.WriteString("k", kind == 't' ? "t" : "a");
            writer.WritePropertyName("c");
            writer.WriteRawValue(changesJson, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenCount <= maxBytes ? Encoding.UTF8.GetString(buffer.WrittenSpan) : null;
    }

    public static Change[] ReadChanges(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ReadArray(document.RootElement);
    }

    public static (string Node, char Kind, Change[] Changes) ReadPayload(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var node = root.GetProperty("n").GetString() ?? throw new FormatException("no node");
        var kind = root.GetProperty("k").GetString() == "t" ? 't' : 'a';
        return (node, kind, ReadArray(root.GetProperty("c")));
    }

    private static void WriteArray(Utf8JsonWriter writer, IReadOnlyList<Change> changes)
    {
        writer.WriteStartArray();
        foreach (var change in changes)
        {
            writer.WriteStartObject();
            writer.WriteString("e", change.Entity);
            if (change.Key is not null)
            {
                writer.WriteString("k", change.Key);
            }

            if (change.Fields.Length > 0)
            {
                writer.WriteStartArray("f");
                foreach (var field in change.Fields)
                {
                    writer.WriteStringValue(field);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static Change[] ReadArray(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("the changes are not a JSON array");
        }

        var changes = new Change[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var entity = item.GetProperty("e").GetString();
            if (string.IsNullOrEmpty(entity))
            {
                throw new FormatException("a change has no entity");
            }

            var key = item.TryGetProperty("k", out var k) ? k.GetString() : null;
            string[] fields = [];
            if (item.TryGetProperty("f", out var f))
            {
                fields = new string[f.GetArrayLength()];
                var j = 0;
                foreach (var field in f.EnumerateArray())
                {
                    fields[j++] = field.GetString() ?? throw new FormatException("a field is null");
                }
            }

            changes[i++] = new Change(entity, key, fields);
        }

        return changes;
    }
}
