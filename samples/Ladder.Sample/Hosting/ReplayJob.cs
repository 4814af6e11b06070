using Ladder.Jobs;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;

namespace Ladder.Sample.Hosting;

/// <summary>The payload of a parse job: which stored replay to parse (its bytes stay in the replays table).</summary>
[JobKind("parse-replay")]
internal sealed record ParseReplayJob(string Hash, long MatchId);

/// <summary>A parse that ran past its deadline; the worker was killed. Retried per the job policy. An expected outcome.</summary>
internal sealed class ReplayParseTimeoutException(TimeSpan deadline, int workerProcessId)
    : Exception($"parse timed out after {deadline.TotalSeconds:0.###} s; worker {workerProcessId} was killed and replaced"), IExpectedOutcome
{
    public TimeSpan Deadline { get; } = deadline;
}

/// <summary>
/// The parse job (a Ladder.Jobs handler): parse in the worker pool, validate against the match, record the result and
/// rating changes in one transaction, then publish the changes.
/// </summary>
/// <remarks>
/// Outcomes: a corrupt or mismatched replay fails the job permanently (<see cref="JobPermanentFailureException"/>: a
/// retry cannot fix a file); a deadline (<see cref="ReplayParseTimeoutException"/>) or a worker crash
/// (<see cref="Ladder.Workers.WorkerException"/>) fails this attempt, and the queue retries with backoff until the
/// job's attempts run out, then dead-letters it with that reason.
/// </remarks>
internal sealed partial class ReplayJobHandler(
    LadderDatabase db, ReplayParsing parsing, LadderViews views, LocalRuns runs, ILogger<ReplayJobHandler> logger)
    : IJobHandler<ParseReplayJob>
{
    public async Task HandleAsync(ParseReplayJob job, JobContext context, CancellationToken cancellationToken)
    {
        var replay = await db.TryGetReplayAsync(job.Hash, cancellationToken)
            ?? throw new JobPermanentFailureException($"replay {job.Hash} is not stored");
        var match = await db.TryGetMatchAsync(replay.MatchId, cancellationToken)
            ?? throw new JobPermanentFailureException($"match {replay.MatchId} does not exist");

        // At-least-once checkpoint: a re-run after a crash (or a duplicate) finds the match already completed and
        // records nothing twice. That makes the at-least-once queue exactly-once in effect.
        if (match.State != "created")
        {
            Log.AlreadyFinal(logger, job.Hash, match.Id, match.State);
            return;
        }

        // The cluster panel lists it under this host until the handler returns, however it returns.
        using var running = runs.Start(context.JobId, match.Id);
        var outcome = await parsing.ParseAsync(replay.Bytes, $"match {match.Id}", cancellationToken);
        if (outcome.TimedOut)
        {
            throw new ReplayParseTimeoutException(outcome.Deadline, outcome.WorkerProcessId);
        }

        var reply = outcome.Reply!;
        var summary = reply.Summary ?? throw Rejected($"corrupt replay: {reply.Error} ({reply.ErrorCode})");
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
            throw Rejected($"replay does not match match {match.Id}: the replay is of match {summary.MatchId} with {actual}; the match is {expected}");
        }
    }

    // A bad file fails the job permanently (a retry cannot fix it); the inner exception marks it as an expected outcome
    // for the log (ExpectedOutcomes), while the job's reason stays the message.
    private static JobPermanentFailureException Rejected(string reason) => new(reason, new ReplayRejectedException(reason));

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Information, "Replay {Hash}: match {MatchId} won by player {WinnerId} (parsed in {ParseMs:0} ms).")]
        public static partial void Recorded(ILogger logger, string hash, long matchId, long winnerId, double parseMs);

        [LoggerMessage(11, LogLevel.Information, "Replay {Hash}: match {MatchId} is already {State}; nothing to record.")]
        public static partial void AlreadyFinal(ILogger logger, string hash, long matchId, string state);
    }
}
