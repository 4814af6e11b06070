using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Ladder.Jobs;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Accepts replay uploads (Ladder.Jobs): the bytes are stored and the parse job is enqueued, keyed by the replay's
/// SHA-256, in one database transaction (SQLite or PostgreSQL): both commit or neither does, and the same file twice is one job.
/// </summary>
internal sealed partial class ReplayIntake(LadderDatabase db, JobQueue queue, IOptions<LadderOptions> options, ReplayStatusObserver observer)
{
    public const string Queue = "replays";

    public async Task<UploadResponse> UploadAsync(long matchId, byte[] bytes, CancellationToken ct)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (await db.TryGetMatchAsync(matchId, ct) is null)
        {
            throw LadderProblemException.NotFound($"There is no match {matchId}.");
        }

        await using var connection = await db.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        using var jobs = transaction switch
        {
            SqliteTransaction sqlite => queue.Enlist(sqlite),
            NpgsqlTransaction postgres => queue.Enlist(postgres),
            _ => throw new InvalidOperationException($"No job store enlists a {transaction.GetType().Name}."),
        };
        var stored = await LadderDatabase.StoreReplayAsync(connection, transaction, hash, matchId, bytes, db.Now(), ct);
        var job = await jobs.EnqueueAsync(JobRequest.For(new ParseReplayJob(hash, matchId), new JobOptions
        {
            Queue = Queue,
            UniqueKey = hash,
            MaxAttempts = options.Value.ParseMaxAttempts,
        }), ct);
        // The replay follows the job that holds its unique key: the new one, the existing one for a duplicate, or a new
        // one when its job was purged (the key freed, so this upload queued a new parse). Set on every upload, so a
        // replay left pointing at a purged job heals at its next upload.
        await LadderDatabase.SetReplayJobAsync(connection, transaction, hash, job.JobId, ct);

        // Commit through the enlistment so the processor wakes right after the commit, not on its next poll.
        await jobs.CommitAsync(ct);
        return new UploadResponse(hash, matchId, job.JobId, Duplicate: !stored || !job.Inserted);
    }

    /// <remarks>
    /// The job is read before the match. The handler commits the match's result before the queue records the job's
    /// success, so in this order a succeeded job always comes with its completed match. Read the other way round, a
    /// job finishing between the two reads was reported succeeded beside a match still "created".
    /// </remarks>
    public async Task<ReplayStatus> GetStatusAsync(string hash, CancellationToken ct)
    {
        var replay = await db.TryGetReplayAsync(hash, ct) ?? throw LadderProblemException.NotFound($"There is no replay {hash}.");
        var job = replay.JobId is { } id ? await queue.GetJobAsync(id, ct) : null;
        await observer.BetweenReadsAsync(ct);
        var match = await db.TryGetMatchAsync(replay.MatchId, ct);
        return new ReplayStatus(
            hash, replay.MatchId, replay.JobId, job is null ? "purged" : StateName(job.Summary.State), job?.Summary.Attempts ?? 0, Runs(job),
            Reason(job?.Summary.LastError), match?.State ?? "missing");
    }

    /// <summary>
    /// How many times the handler ran, across every life of the job. The queue's history records only the attempts
    /// that did not succeed (failed, dead, rescued: those ran; released: claimed ahead and never started), and a
    /// success is the job's own final state, so it is counted here.
    /// </summary>
    public static int Runs(JobDetails? job)
        => job is null ? 0 : job.Attempts.Count(static a => a.Outcome != "released") + (job.Summary.State == JobState.Succeeded ? 1 : 0);

    public static string StateName(JobState state) => state.ToString().ToLowerInvariant();

    /// <summary>The queue keeps "Type.Name: message"; the page and the API show the message.</summary>
    public static string? Reason(string? lastError)
        => lastError is null ? null : ErrorTypePrefix().Replace(lastError, "", 1);

    [GeneratedRegex(@"^[\w.+`]+: ")]
    private static partial Regex ErrorTypePrefix();
}
