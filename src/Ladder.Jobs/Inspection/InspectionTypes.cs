namespace Ladder.Jobs;

/// <summary>How many jobs of a queue are in a state.</summary>
/// <param name="Queue">The queue name.</param>
/// <param name="State">The state.</param>
/// <param name="Count">How many jobs.</param>
public sealed record QueueStateCount(string Queue, JobState State, long Count);

/// <summary>A job as listed in a page.</summary>
/// <param name="Id">The job id.</param>
/// <param name="Queue">Its queue.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="State">Its state.</param>
/// <param name="Priority">Its priority.</param>
/// <param name="Attempts">Attempts spent (a rescue or a give-back spends none).</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="Rescues">Times its lease expired and it was put back.</param>
/// <param name="UniqueKey">Its unique key, if any.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="RunAt">When it may run (next run for a retry).</param>
/// <param name="StartedAt">When its last attempt started.</param>
/// <param name="FinishedAt">When it reached a terminal state.</param>
/// <param name="LastError">The last error (type: message), or the reason it is dead.</param>
public sealed record JobSummary(
    long Id, string Queue, string Kind, JobState State, int Priority, int Attempts, int MaxAttempts, int Rescues, string? UniqueKey,
    DateTimeOffset CreatedAt, DateTimeOffset RunAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? LastError);

/// <summary>A recorded attempt that did not succeed (failed, dead, rescued or released). A successful attempt is the job's own started/finished times.</summary>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Outcome">
/// <c>failed</c> (retried), <c>dead</c>, <c>rescued</c> (its lease expired while its handler ran: counted towards
/// <see cref="LadderJobsOptions.MaxRescues"/>) or <c>released</c> (its lease expired while it waited, claimed ahead
/// and not started: not counted).
/// </param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="ErrorType">The exception type.</param>
/// <param name="ErrorMessage">The exception message.</param>
/// <param name="ErrorStack">The stack trace.</param>
public sealed record JobAttempt(int Attempt, string Outcome, DateTimeOffset? StartedAt, DateTimeOffset FinishedAt, string? ErrorType, string? ErrorMessage, string? ErrorStack);

/// <summary>A job with its payload and its attempts.</summary>
/// <param name="Summary">The job.</param>
/// <param name="PayloadJson">Its payload.</param>
/// <param name="Timeout">Its per-attempt timeout.</param>
/// <param name="Attempts">Its failed, dead, rescued and released attempts, oldest first.</param>
public sealed record JobDetails(JobSummary Summary, string PayloadJson, TimeSpan? Timeout, IReadOnlyList<JobAttempt> Attempts);

/// <summary>A page of jobs, by ascending id.</summary>
/// <param name="Jobs">The jobs.</param>
/// <param name="NextAfterId">Pass as <c>afterId</c> for the next page; <see langword="null"/> on the last page.</param>
public sealed record JobPage(IReadOnlyList<JobSummary> Jobs, long? NextAfterId);

/// <summary>Which jobs a page lists: one state, optionally one queue, kind or unique key, by ascending id (keyset paging).</summary>
/// <param name="State">The state.</param>
/// <param name="Queue">Only this queue, or all.</param>
/// <param name="Kind">Only this kind (exact), or all.</param>
/// <param name="UniqueKey">Only jobs whose unique key starts with this text (ordinal, case-sensitive), or all.</param>
/// <param name="AfterId">Start after this id (from the previous page's <see cref="JobPage.NextAfterId"/>).</param>
/// <param name="PageSize">Jobs per page, 1..1000.</param>
public sealed record JobQuery(JobState State, string? Queue = null, string? Kind = null, string? UniqueKey = null, long? AfterId = null, int PageSize = 50);
