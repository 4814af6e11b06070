using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ladder.Workers.Protocol;

/// <summary>Encoders and decoders for the data part of each frame type.</summary>
internal static class Messages
{
    public static byte[] Hello(int pid)
    {
        var data = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(data, FrameIO.ProtocolVersion);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), pid);
        return data;
    }

    public static (int Version, int Pid) ReadHello(byte[] data)
    {
        if (data.Length < 8)
        {
            throw new ProtocolViolationException("the hello frame is too short");
        }

        return (BinaryPrimitives.ReadInt32LittleEndian(data), BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4)));
    }

    /// <summary>The prefix of a call frame: the operation name, length-prefixed; the payload follows it.</summary>
    public static byte[] CallPrefix(string operation)
    {
        var count = Encoding.UTF8.GetByteCount(operation);
        var prefix = new byte[2 + count];
        BinaryPrimitives.WriteUInt16LittleEndian(prefix, checked((ushort)count));
        Encoding.UTF8.GetBytes(operation, prefix.AsSpan(2));
        return prefix;
    }

    public static (string Operation, ReadOnlyMemory<byte> Payload) ReadCall(byte[] data)
    {
        if (data.Length < 2)
        {
            throw new ProtocolViolationException("the call frame is too short");
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (data.Length < 2 + count)
        {
            throw new ProtocolViolationException("the call frame's operation name is truncated");
        }

        return (Encoding.UTF8.GetString(data, 2, count), data.AsMemory(2 + count));
    }

    /// <summary>The size of the working-set prefix of result, error and cancelled frames.</summary>
    public const int MemoryPrefixSize = 8;

    /// <summary>Result, error and cancelled frames start with the worker's working set after the call (for recycling).</summary>
    public static byte[] MemoryPrefix(long workingSet)
    {
        var prefix = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(prefix, workingSet);
        return prefix;
    }

    public static (long WorkingSet, ReadOnlyMemory<byte> Body) ReadMemoryPrefixed(byte[] data)
    {
        if (data.Length < 8)
        {
            throw new ProtocolViolationException("the response frame is too short");
        }

        return (BinaryPrimitives.ReadInt64LittleEndian(data), data.AsMemory(8));
    }

    public static byte[] Error(RemoteError error) => JsonSerializer.SerializeToUtf8Bytes(error, ProtocolJsonContext.Default.RemoteError);

    public static RemoteError ReadError(ReadOnlyMemory<byte> data)
    {
        try
        {
            return JsonSerializer.Deserialize(data.Span, ProtocolJsonContext.Default.RemoteError)
                ?? throw new ProtocolViolationException("the error frame is empty");
        }
        catch (JsonException ex)
        {
            throw new ProtocolViolationException($"the error frame is not valid JSON: {ex.Message}");
        }
    }
}

/// <summary>An exception thrown by a handler inside the worker, as it crosses the wire.</summary>
internal sealed record RemoteError(string Type, string Message, string? StackTrace);

[JsonSerializable(typeof(RemoteError))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;
