namespace Ladder.Sample.Replays;

/// <summary>
/// The sample's replay file (see docs/sample.md): a 16-byte header, then a raw Deflate body.
/// Header: "LDRP", version u16, flags u16, body length u32, CRC-32 of the body u32 (all little-endian).
/// </summary>
internal static class ReplayFormat
{
    public const int HeaderSize = 16;
    public const ushort Version = 1;
    public static ReadOnlySpan<byte> Magic => "LDRP"u8;
}

/// <summary>Kinds of events in the event stream.</summary>
internal enum ReplayEventKind : byte
{
    /// <summary>A player command; payload: action code u16.</summary>
    Command = 1,

    /// <summary>A chat line; payload: string.</summary>
    Chat = 2,

    /// <summary>The player left the game; no payload.</summary>
    Leave = 3,

    /// <summary>Repeat the previous <c>span</c> events <c>count</c> times; payload: two 7-bit varints.</summary>
    Repeat = 4,
}

/// <summary>Why a replay was rejected.</summary>
internal enum ReplayError
{
    TooShort,
    BadMagic,
    UnsupportedVersion,
    BadCompression,
    LengthMismatch,
    ChecksumMismatch,
    Truncated,
    InvalidField,
}

/// <summary>A replay that is not a valid replay file: the message says what and where.</summary>
internal sealed class ReplayFormatException(ReplayError error, string message) : Exception(message)
{
    public ReplayError Error { get; } = error;
}

internal sealed record ReplayPlayer(long PlayerId, string Name, Domain.Race Race);

/// <summary>What the parser learned from a replay.</summary>
internal sealed record ReplaySummary(
    long MatchId, string Map, IReadOnlyList<ReplayPlayer> Players, int DurationMs, int WinnerIndex,
    long Events, IReadOnlyList<long> Actions)
{
    public long WinnerId => Players[WinnerIndex].PlayerId;
}
