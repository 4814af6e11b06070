using System.Text.Json;
using Ladder.Sample.Replays;
using Ladder.Workers;

namespace Ladder.Sample.Hosting;

/// <summary>What a parser worker answers: a summary, or why the file is not a valid replay.</summary>
internal sealed record ParseReply(ReplaySummary? Summary, string? ErrorCode, string? Error);

/// <summary>
/// The worker role: the host's pool starts this same executable with <see cref="WorkerHost.WorkerSwitch"/>, and this
/// runs the untrusted parse. A corrupt file is an answer (<see cref="ParseReply.Error"/>); a hang or a blown heap is
/// the pool's business (deadline, heap cap, kill).
/// </summary>
internal static class ParserWorker
{
    public const string ParseOperation = "parse-replay";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Task<int> RunAsync() => new WorkerHost(Json)
        .MapBytes(ParseOperation, static (replay, _) => Task.FromResult(JsonSerializer.SerializeToUtf8Bytes(Parse(replay), Json)))
        .RunAsync();

    // The token is deliberately not passed on: the parser is a stand-in for third-party code that never checks one,
    // so only the pool's hard kill can stop it.
    private static ParseReply Parse(ReadOnlyMemory<byte> replay)
    {
        try
        {
            return new ParseReply(ReplayParser.Parse(replay.Span), null, null);
        }
        catch (ReplayFormatException e)
        {
            return new ParseReply(null, e.Error.ToString(), e.Message);
        }
    }
}
