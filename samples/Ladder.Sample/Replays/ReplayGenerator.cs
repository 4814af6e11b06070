using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Replays;

/// <summary>What a generated replay claims about its game.</summary>
internal sealed record ReplaySpec(long MatchId, ReplayPlayer Player1, ReplayPlayer Player2, int WinnerIndex, string Map = "Fighting Spirit", int Seed = 1);

/// <summary>
/// Writes replay files: honest ones, slow ones (a parse costing about 2^depth steps), hanging ones (2^62 steps),
/// decompression bombs and corrupt files. Used by demo data, <c>simulate</c> and the tests.
/// </summary>
internal static class ReplayGenerator
{
    private const int HangingDepth = 62;

    public static byte[] Create(ReplaySpec spec) => Write(spec, repeatDepth: 0, padding: 0);

    /// <summary>A valid replay whose parse takes about 2^<paramref name="depth"/> expansion steps (on a busy 2-core machine 24 is about 0.4 s, 26 about 1.5 s).</summary>
    public static byte[] CreateSlow(ReplaySpec spec, int depth) => Write(spec, depth, padding: 0);

    /// <summary>A replay whose nested repeats make the naive parser run for ages: only a deadline ends it.</summary>
    public static byte[] CreateHanging(ReplaySpec spec) => Write(spec, HangingDepth, padding: 0);

    /// <summary>
    /// A few hundred kilobytes that inflate to <paramref name="inflatedMegabytes"/> MiB of zeros after a valid body:
    /// the naive parser runs into the worker's heap cap long before it notices the length is wrong.
    /// </summary>
    public static byte[] CreateDecompressionBomb(ReplaySpec spec, int inflatedMegabytes = 384)
        => Write(spec, repeatDepth: 0, padding: (long)inflatedMegabytes << 20);

    /// <summary>A copy of <paramref name="valid"/> with one byte flipped in the middle of its compressed body.</summary>
    public static byte[] Corrupt(byte[] valid)
    {
        var copy = (byte[])valid.Clone();
        var middle = ReplayFormat.HeaderSize + ((copy.Length - ReplayFormat.HeaderSize) / 2);
        copy[middle] ^= 0x5A;
        return copy;
    }

    private static byte[] Write(ReplaySpec spec, int repeatDepth, long padding)
    {
        var body = WriteBody(spec, repeatDepth);
        using var file = new MemoryStream();
        Span<byte> header = stackalloc byte[ReplayFormat.HeaderSize];
        ReplayFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], ReplayFormat.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], Crc32.Compute(body));
        file.Write(header);
        using (var deflate = new DeflateStream(file, padding > 0 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(body);
            var zeros = new byte[1 << 20];
            for (long written = 0; written < padding; written += zeros.Length)
            {
                deflate.Write(zeros);
            }
        }

        return file.ToArray();
    }

    private static byte[] WriteBody(ReplaySpec spec, int repeatDepth)
    {
        var random = new Random(spec.Seed);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(spec.MatchId);
        WriteString(writer, spec.Map);
        writer.Write((byte)2);
        foreach (var player in (ReadOnlySpan<ReplayPlayer>)[spec.Player1, spec.Player2])
        {
            writer.Write(player.PlayerId);
            WriteString(writer, player.Name);
            writer.Write((byte)player.Race);
        }

        var duration = random.Next(6, 25) * 60_000;
        writer.Write(duration);
        writer.Write((byte)spec.WinnerIndex);

        var commands = random.Next(200, 600);
        var tickBudget = duration / (commands + 1);
        var count = commands + 2 + repeatDepth;
        writer.Write(count);
        for (var i = 0; i < commands; i++)
        {
            writer.Write7BitEncodedInt(random.Next(1, tickBudget));
            writer.Write((byte)(i % 2));
            writer.Write((byte)ReplayEventKind.Command);
            writer.Write((ushort)random.Next(1, 120));
        }

        writer.Write7BitEncodedInt(0);
        writer.Write((byte)spec.WinnerIndex);
        writer.Write((byte)ReplayEventKind.Chat);
        WriteString(writer, "gg");

        // Each repeat replays the one event before it twice: depth d costs the parser 2^d steps. Zero ticks, so a
        // slow replay is still a valid one.
        for (var i = 0; i < repeatDepth; i++)
        {
            writer.Write7BitEncodedInt(0);
            writer.Write((byte)0);
            writer.Write((byte)ReplayEventKind.Repeat);
            writer.Write7BitEncodedInt(1);
            writer.Write7BitEncodedInt(2);
        }

        writer.Write7BitEncodedInt(1);
        writer.Write((byte)(1 - spec.WinnerIndex));
        writer.Write((byte)ReplayEventKind.Leave);
        writer.Flush();
        return stream.ToArray();
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        writer.Write(checked((ushort)bytes.Length));
        writer.Write(bytes);
    }
}
