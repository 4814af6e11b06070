using Ladder.Sample.Domain;
using Ladder.Sample.Replays;

namespace Ladder.Sample.Hosting;

/// <summary>The payload of a parse job: which stored replay to parse (its bytes stay in the replays table).</summary>
internal sealed record ParseReplayJob(string Hash, long MatchId);

/// <summary>A replay that can never be recorded (corrupt, or not this match's): retrying cannot help.</summary>
internal sealed class ReplayRejectedException(string reason) : Exception(reason);

/// <summary>A parse that ran past its deadline; the worker was killed. Retried per the job policy.</summary>
internal sealed class ReplayParseTimeoutException(TimeSpan deadline, int workerProcessId)
    : Exception($"parse timed out after {deadline.TotalSeconds:0.###} s; worker {workerProcessId} was killed and replaced")
{
    public TimeSpan Deadline { get; } = deadline;
}

/// <summary>
/// The parse job's work, whatever runs it: parse in the worker pool, validate against the match, record the result
/// and rating changes in one transaction, then publish the changes.
/// </summary>
internal sealed partial class ReplayJobHandler(LadderDatabase db, ReplayParsing parsing, LadderViews views, ILogger<ReplayJobHandler> logger)
{
    /// <exception cref="ReplayRejectedException">Permanent: fail the job without retrying.</exception>
    /// <exception cref="ReplayParseTimeoutException">The deadline killed the parse: retry per policy.</exception>
    /// <exception cref="Ladder.Workers.WorkerException">The worker crashed (heap cap, ...): retry per policy.</exception>
    public async Task HandleAsync(ParseReplayJob job, CancellationToken cancellationToken)
    {
        var replay = await db.TryGetReplayAsync(job.Hash, cancellationToken)
            ?? throw new ReplayRejectedException($"replay {job.Hash} is not stored");
        var match = await db.TryGetMatchAsync(replay.MatchId, cancellationToken)
            ?? throw new ReplayRejectedException($"match {replay.MatchId} does not exist");

        // At-least-once: a re-run after a crash finds the match already completed and records nothing twice.
        if (match.State != "created")
        {
            Log.AlreadyFinal(logger, job.Hash, match.Id, match.State);
            return;
        }

        var outcome = await parsing.ParseAsync(replay.Bytes, cancellationToken);
        if (outcome.TimedOut)
        {
            throw new ReplayParseTimeoutException(outcome.Deadline, outcome.WorkerProcessId);
        }

        var reply = outcome.Reply!;
        var summary = reply.Summary ?? throw new ReplayRejectedException($"corrupt replay: {reply.Error} ({reply.ErrorCode})");
        Validate(summary, match);

        var result = await db.RecordResultAsync(match.Id, summary.WinnerId, "replay", job.Hash, cancellationToken);

        // Publish only after the commit, and only if this run recorded it.
        if (result.Recorded)
        {
            views.ResultRecorded(result.Match);
            Log.Recorded(logger, job.Hash, match.Id, summary.WinnerId, outcome.RunDuration.TotalMilliseconds);
        }
    }

    private static void Validate(ReplaySummary summary, Match match)
    {
        var expected = $"{match.Player1Id}:{match.Race1}, {match.Player2Id}:{match.Race2}";
        var actual = string.Join(", ", summary.Players.Select(p => $"{p.PlayerId}:{p.Race.ToName()}"));
        if (summary.MatchId != match.Id || !string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new ReplayRejectedException(
                $"replay does not match match {match.Id}: the replay is of match {summary.MatchId} with {actual}; the match is {expected}");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "Replay {Hash}: match {MatchId} won by player {WinnerId} (parsed in {ParseMs:0} ms).")]
        public static partial void Recorded(ILogger logger, string hash, long matchId, long winnerId, double parseMs);

        [LoggerMessage(11, LogLevel.Information, "Replay {Hash}: match {MatchId} is already {State}; nothing to record.")]
        public static partial void AlreadyFinal(ILogger logger, string hash, long matchId, string state);
    }
}
