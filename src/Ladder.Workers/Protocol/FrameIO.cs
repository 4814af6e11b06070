using System.Buffers;
using System.Buffers.Binary;

namespace Ladder.Workers.Protocol;

/// <summary>
/// Length-prefixed frames: a 4-byte little-endian body length, then the body (1 type byte, an 8-byte call id,
/// the data). The length is checked against a cap before a single byte of the body is read, so a peer that
/// sends a huge or garbage length is rejected without allocating for it.
/// </summary>
internal static class FrameIO
{
    /// <summary>The wire protocol version carried by the hello frame.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>Type byte + call id.</summary>
    public const int BodyHeaderSize = 9;

    private const int LengthSize = 4;

    /// <summary>
    /// Builds one frame in a buffer rented from the shared pool (return it with <see cref="ReturnFrame"/>);
    /// <paramref name="prefix"/> and <paramref name="data"/> are concatenated as the frame's data.
    /// </summary>
    /// <exception cref="ProtocolViolationException">The frame would exceed <paramref name="maxBody"/>.</exception>
    public static byte[] RentFrame(FrameType type, long callId, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, int maxBody, out int length)
    {
        var body = BodyHeaderSize + prefix.Length + data.Length;
        if (body > maxBody)
        {
            throw new ProtocolViolationException($"a {type} frame of {body} bytes exceeds the cap of {maxBody} bytes");
        }

        length = LengthSize + body;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        BinaryPrimitives.WriteInt32LittleEndian(buffer, body);
        buffer[LengthSize] = (byte)type;
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(LengthSize + 1), callId);
        prefix.CopyTo(buffer.AsSpan(LengthSize + BodyHeaderSize));
        data.CopyTo(buffer.AsSpan(LengthSize + BodyHeaderSize + prefix.Length));
        return buffer;
    }

    public static void ReturnFrame(byte[] frame) => ArrayPool<byte>.Shared.Return(frame);

    /// <summary>Writes one frame synchronously (the worker side writes from one thread at a time, under a lock).</summary>
    /// <exception cref="ProtocolViolationException">The frame would exceed <paramref name="maxBody"/>.</exception>
    public static void Write(Stream stream, FrameType type, long callId, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, int maxBody)
    {
        var buffer = RentFrame(type, callId, prefix, data, maxBody, out var length);
        try
        {
            stream.Write(buffer, 0, length);
            stream.Flush();
        }
        finally
        {
            ReturnFrame(buffer);
        }
    }

    /// <summary>Reads one frame synchronously, or null at a clean end of stream (a dedicated reader thread).</summary>
    /// <exception cref="ProtocolViolationException">Oversized, malformed or truncated frame.</exception>
    public static Frame? Read(Stream stream, int maxBody)
    {
        Span<byte> header = stackalloc byte[LengthSize + BodyHeaderSize];
        var got = stream.ReadAtLeast(header[..LengthSize], LengthSize, throwOnEndOfStream: false);
        if (got == 0)
        {
            return null;
        }

        if (got < LengthSize)
        {
            throw new ProtocolViolationException("the stream ended inside a frame header", truncated: true);
        }

        var body = BodyLength(header, maxBody);

        if (stream.ReadAtLeast(header.Slice(LengthSize, BodyHeaderSize), BodyHeaderSize, throwOnEndOfStream: false) < BodyHeaderSize)
        {
            throw new ProtocolViolationException("the stream ended inside a frame", truncated: true);
        }

        var (type, callId) = TypeAndCall(header);
        var data = body == BodyHeaderSize ? [] : new byte[body - BodyHeaderSize];
        if (data.Length > 0 && stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length)
        {
            throw new ProtocolViolationException("the stream ended inside a frame", truncated: true);
        }

        return new Frame(type, callId, data);
    }

    private static int BodyLength(ReadOnlySpan<byte> header, int maxBody)
    {
        var body = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (body < BodyHeaderSize || body > maxBody)
        {
            throw new ProtocolViolationException(body > maxBody
                ? $"a frame of {body} bytes exceeds the cap of {maxBody} bytes"
                : $"a frame length of {body} is malformed");
        }

        return body;
    }

    private static (FrameType Type, long CallId) TypeAndCall(ReadOnlySpan<byte> header)
    {
        var type = (FrameType)header[LengthSize];
        if (type is < FrameType.Hello or > FrameType.Shutdown)
        {
            throw new ProtocolViolationException($"unknown frame type {(byte)type}");
        }

        return (type, BinaryPrimitives.ReadInt64LittleEndian(header[(LengthSize + 1)..]));
    }
}
