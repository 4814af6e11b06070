using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Replays;

/// <summary>
/// Parses a replay file. Corrupt input is rejected with a <see cref="ReplayFormatException"/>.
/// </summary>
/// <remarks>
/// This parser is deliberately naive in two ways, standing in for the third-party parser a real ladder cannot fix:
/// it inflates the whole body before checking the declared length (a decompression bomb exhausts memory), and it
/// expands <see cref="ReplayEventKind.Repeat"/> events recursively with no budget and no cancellation check (nested
/// repeats take exponential time). That is why the host only ever runs it in a Ladder.Workers pool, with a
/// deadline and a heap cap: the parser may hang or blow up, the host may not.
/// </remarks>
internal static class ReplayParser
{
    public static ReplaySummary Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < ReplayFormat.HeaderSize)
        {
            throw new ReplayFormatException(ReplayError.TooShort, $"A replay has at least {ReplayFormat.HeaderSize} bytes; this one has {file.Length}.");
        }

        if (!file[..4].SequenceEqual(ReplayFormat.Magic))
        {
            throw new ReplayFormatException(ReplayError.BadMagic, "Not a replay: the file does not start with \"LDRP\".");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(file[4..]);
        if (version != ReplayFormat.Version)
        {
            throw new ReplayFormatException(ReplayError.UnsupportedVersion, $"Replay format version {version} is not supported (this parser reads {ReplayFormat.Version}).");
        }

        var declaredLength = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
        var declaredCrc = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        var body = Inflate(file[ReplayFormat.HeaderSize..].ToArray());
        if (body.Length != declaredLength)
        {
            throw new ReplayFormatException(ReplayError.LengthMismatch, $"The body inflates to {body.Length} bytes but the header says {declaredLength}.");
        }

        var crc = Crc32.Compute(body);
        if (crc != declaredCrc)
        {
            throw new ReplayFormatException(ReplayError.ChecksumMismatch, $"The body's CRC-32 is {crc:x8} but the header says {declaredCrc:x8}: the file is damaged.");
        }

        try
        {
            return ReadBody(body);
        }
        catch (EndOfStreamException)
        {
            throw new ReplayFormatException(ReplayError.Truncated, "The body ends in the middle of a field.");
        }
    }

    private static byte[] Inflate(byte[] compressed)
    {
        // Naive on purpose (see remarks): no limit while inflating.
        try
        {
            using var input = new DeflateStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ReplayFormatException(ReplayError.BadCompression, $"The body is not valid Deflate data: {e.Message}");
        }
    }

    private static ReplaySummary ReadBody(byte[] body)
    {
        using var reader = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        var matchId = reader.ReadInt64();
        var map = ReadString(reader, "map");
        var playerCount = reader.ReadByte();
        if (playerCount != 2)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"A ladder replay has 2 players; this one has {playerCount}.");
        }

        var players = new ReplayPlayer[2];
        for (var i = 0; i < players.Length; i++)
        {
            var id = reader.ReadInt64();
            var name = ReadString(reader, "player name");
            var race = reader.ReadByte();
            if (!Enum.IsDefined((Race)race))
            {
                throw new ReplayFormatException(ReplayError.InvalidField, $"Player {i + 1} has race code {race}, which is not a race.");
            }

            players[i] = new ReplayPlayer(id, name, (Race)race);
        }

        var duration = reader.ReadInt32();
        var winner = reader.ReadByte();
        if (duration <= 0 || winner > 1)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"Duration {duration} ms and winner index {winner} are not valid.");
        }

        var events = ReadEvents(reader);
        if (reader.BaseStream.Position != body.Length)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"{body.Length - reader.BaseStream.Position} bytes follow the event stream.");
        }

        var stats = new Stats();
        Expand(events, 0, events.Count, stats);
        if (stats.Ticks > duration)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"The events last {stats.Ticks} ms, longer than the game ({duration} ms).");
        }

        return new ReplaySummary(matchId, map, players, duration, winner, stats.Events, [stats.Actions[0], stats.Actions[1]]);
    }

    private readonly record struct Event(ReplayEventKind Kind, byte Player, int TickDelta, int Span, int Count);

    private sealed class Stats
    {
        public long Events;
        public long Ticks;
        public readonly long[] Actions = new long[2];
    }

    private static List<Event> ReadEvents(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > 1_000_000)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"An event count of {count} is out of range.");
        }

        var events = new List<Event>(Math.Min(count, 4096));
        for (var i = 0; i < count; i++)
        {
            var tick = reader.Read7BitEncodedInt();
            var player = reader.ReadByte();
            var kind = (ReplayEventKind)reader.ReadByte();
            if (player > 1 || tick < 0)
            {
                throw new ReplayFormatException(ReplayError.InvalidField, $"Event {i} names player {player} at tick delta {tick}.");
            }

            switch (kind)
            {
                case ReplayEventKind.Command:
                    reader.ReadUInt16();
                    events.Add(new Event(kind, player, tick, 0, 0));
                    break;
                case ReplayEventKind.Chat:
                    ReadString(reader, "chat line");
                    events.Add(new Event(kind, player, tick, 0, 0));
                    break;
                case ReplayEventKind.Leave:
                    events.Add(new Event(kind, player, tick, 0, 0));
                    break;
                case ReplayEventKind.Repeat:
                    var span = reader.Read7BitEncodedInt();
                    var times = reader.Read7BitEncodedInt();
                    if (span < 1 || span > events.Count || times < 0)
                    {
                        throw new ReplayFormatException(ReplayError.InvalidField, $"Event {i} repeats {span} earlier events {times} times; only {events.Count} precede it.");
                    }

                    events.Add(new Event(kind, player, tick, span, times));
                    break;
                default:
                    throw new ReplayFormatException(ReplayError.InvalidField, $"Event {i} has unknown kind {(byte)kind}.");
            }
        }

        return events;
    }

    // Naive on purpose (see remarks): nested repeats expand exponentially, with no budget.
    private static void Expand(List<Event> events, int start, int end, Stats stats)
    {
        for (var i = start; i < end; i++)
        {
            var e = events[i];
            stats.Ticks += e.TickDelta;
            if (e.Kind == ReplayEventKind.Repeat)
            {
                for (var k = 0; k < e.Count; k++)
                {
                    Expand(events, i - e.Span, i, stats);
                }

                continue;
            }

            stats.Events++;
            if (e.Kind == ReplayEventKind.Command)
            {
                stats.Actions[e.Player]++;
            }
        }
    }

    private static string ReadString(BinaryReader reader, string what)
    {
        var length = reader.ReadUInt16();
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length)
        {
            throw new EndOfStreamException();
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new ReplayFormatException(ReplayError.InvalidField, $"The {what} is not valid UTF-8.");
        }
    }
}
