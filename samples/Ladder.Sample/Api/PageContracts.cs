using Ladder.Sample.Domain;

namespace Ladder.Sample.Api;

// The answers the page reads beyond the ladder's own records: a player's history, the results feed, the queue's
// active and dead jobs with readable labels, and the pool's recent incidents.

/// <summary>Which host answered (also in every response's <c>X-Ladder-Host</c> header).</summary>
internal sealed record HostInfo(string Host, string Machine, int Port, int ProcessId, DateTimeOffset StartedAt);

/// <summary>
/// A player's page: ratings per race, the rating after every rated game per race (the chart), and a page of matches
/// (newest first). <see cref="Game"/> numbers in the series count the player's rated games over all races.
/// </summary>
internal sealed record PlayerHistory(
    Player Player, IReadOnlyList<RaceRating> Ratings, IReadOnlyList<RatingSeries> Series,
    int Page, int PageSize, long TotalMatches, IReadOnlyList<HistoryMatch> Matches);

internal sealed record RatingSeries(string Race, IReadOnlyList<RatingPoint> Points);

/// <summary>The rating of one race after the player's <paramref name="Game"/>-th rated game.</summary>
internal sealed record RatingPoint(int Game, long MatchId, string At, int Change, int Rating, string OpponentName);

/// <summary>
/// One match from the player's side. <see cref="Result"/> is won, lost, aborted or pending; <see cref="RatingAfter"/>
/// is the player's rating in that race after it (rated games only).
/// </summary>
internal sealed record HistoryMatch(
    long Id, string At, string Map, string Race, long OpponentId, string OpponentName, string OpponentRace,
    string Result, int? Change, int? RatingAfter, string? Source, ReplayJob? Replay);

/// <summary>A replay's parse job as the page shows it (the job may have been purged: <see cref="State"/> "purged").</summary>
internal sealed record ReplayJob(
    string Hash, long? JobId, string State, int Attempts, int MaxAttempts, DateTimeOffset? RunAt, string? Reason);

/// <summary>A finished match for the results feed.</summary>
internal sealed record RecentResult(long MatchId, string At, string Map, string State, MatchSide Player1, MatchSide Player2, long? WinnerId, string? Source);

internal sealed record MatchSide(long Id, string Name, string Race, int? Change);

/// <summary>
/// A job with what it is about in words (<see cref="Label"/>, e.g. "match 12: Sea (zerg) vs Bisu (protoss)"), its
/// attempts, when its attempt started and when it runs next.
/// </summary>
internal sealed record JobLine(
    long Id, string Kind, string State, string Label, long? MatchId, string? ReplayHash, int Attempts, int MaxAttempts,
    DateTimeOffset? StartedAt, DateTimeOffset RunAt, DateTimeOffset? FinishedAt, string? Reason);

/// <summary>Running jobs and jobs waiting for a retry (each list at most <see cref="Limit"/> long; the counts are exact).</summary>
internal sealed record ActiveJobs(long RunningCount, IReadOnlyList<JobLine> Running, long RetryingCount, IReadOnlyList<JobLine> Retrying, int Limit);

/// <summary>
/// A page of dead jobs, oldest first. <see cref="NextAfter"/> is the <c>after</c> of the next page (null on the last);
/// <see cref="Total"/> counts every dead job.
/// </summary>
internal sealed record DeadJobPage(long Total, IReadOnlyList<JobLine> Jobs, long? NextAfter, int PageSize);

/// <summary>A parse that timed out or a worker that crashed, as the pool panel lists them (newest first).</summary>
internal sealed record PoolIncident(DateTimeOffset At, string Kind, int? WorkerProcessId, string? Replay, string Detail);

/// <summary>The pool's worker processes now, the warm spare if any, and why the last start failed, if one did.</summary>
internal sealed record WorkerProcesses(IReadOnlyList<int> ProcessIds, int? SpareProcessId, string? LastStartError);

/// <summary>What a host reports in its heartbeat: its pool's workers and the parse jobs it is running.</summary>
internal sealed record ClusterHostStatus(int Workers, int BusyWorkers, IReadOnlyList<Hosting.LocalRun> Running);

/// <summary>
/// One host of the cluster as the panel shows it. <see cref="Alive"/> is false once it has missed three heartbeats
/// (killed, or its machine gone); <see cref="Self"/> marks the host that answered.
/// </summary>
internal sealed record ClusterHost(
    string Name, string Url, int ProcessId, DateTimeOffset StartedAt, DateTimeOffset SeenAt, bool Alive, bool Self,
    int Workers, int BusyWorkers, IReadOnlyList<ClusterRun> Running);

/// <summary>A parse job running on a host, with its label ("match 12: Sea (zerg) vs Bisu (protoss)").</summary>
internal sealed record ClusterRun(long JobId, long MatchId, string Label, DateTimeOffset StartedAt);

/// <summary>
/// The cluster: every host seen in the last minute, and the queue they share (counts by state). One SQLite host is a
/// cluster of one.
/// </summary>
internal sealed record ClusterView(string ServedBy, string Database, IReadOnlyList<ClusterHost> Hosts, IReadOnlyDictionary<string, long> Queue);
