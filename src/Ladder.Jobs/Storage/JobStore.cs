using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Storage;

/// <summary>
/// Where a <see cref="JobQueue"/> keeps its jobs: the store contract. Ladder.Jobs ships the SQLite store
/// (<see cref="LadderJobsOptions.Path"/>); Ladder.Jobs.PostgreSql is an ordinary consumer of this contract.
/// </summary>
/// <remarks>
/// <para>
/// The queue (the core) owns everything that does not depend on where jobs are kept: validation of requests and
/// options, backpressure, the processor (slots, prefetch, dispatch, heartbeats, timeouts, retries and backoff, the
/// finish of a run), wake-ups inside the process, telemetry and logging. A store owns durability and the lease
/// protocol. Every outcome a store writes is a compare-and-set on (id, state running, lease token): a late outcome of a
/// run whose lease was lost (rescued elsewhere) changes nothing and reports so.
/// </para>
/// <para>
/// Time: a store reads its own clock for every time it writes (the SQLite store reads the queue's
/// <see cref="TimeProvider"/>, <see cref="JobStoreContext.Time"/>; a server store may read the database's clock, so
/// hosts with skewed clocks agree on leases). The core therefore passes durations (a retry delay, a lease duration, an
/// age), never its own reading of the clock.
/// </para>
/// <para>
/// A store is opened once, by the queue that owns it (<see cref="OpenAsync"/>), and disposed by that queue. Its methods
/// are called concurrently. The contract suite in the repository (<c>tests/Ladder.Jobs.Testing</c>, described in
/// <c>docs/jobs/stores.md</c>) runs unchanged against every store.
/// </para>
/// </remarks>
public abstract partial class JobStore : IAsyncDisposable
{
    // Set once by the queue that opens the store: a store shared by two queues would have two owners disposing it.
    private int _owned;

    /// <summary>Where the store keeps its jobs, for messages and logs (a file path; a server, database and schema).</summary>
    public abstract string Location { get; }

    /// <summary>The schema version the store reads and writes.</summary>
    public abstract long SchemaVersion { get; }

    /// <summary>
    /// Whether the store can take writes (for the health check). <see langword="false"/> once a store has stopped
    /// for good (its writer ended); a store that is reconnecting stays <see langword="true"/>.
    /// </summary>
    public virtual bool IsAvailable => true;

    /// <summary>
    /// Opens the store: creates or migrates its schema (never a newer one), and keeps the context to raise wake-ups.
    /// Called once, by <c>JobQueue.OpenAsync(store, options)</c>.
    /// </summary>
    /// <param name="context">The queue's options, clock, logging and callbacks.</param>
    /// <param name="cancellationToken">Stops opening.</param>
    /// <returns>A task that completes once the store is ready.</returns>
    /// <exception cref="JobStoreIncompatibleException">The store holds something else, or a newer schema; it was not changed.</exception>
    /// <exception cref="JobStoreException">The store cannot be reached or written.</exception>
    public abstract Task OpenAsync(JobStoreContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts jobs in one transaction, in order. A job whose (kind, unique key) is taken by a job that still exists is
    /// not inserted: its result is that job, with <see cref="EnqueueResult.Inserted"/> false. Completes once the
    /// transaction is durable; wakes processors of other processes (a server store's notification), not this one's:
    /// the queue does that.
    /// </summary>
    /// <param name="jobs">The jobs.</param>
    /// <param name="cancellationToken">Stops waiting; the insert may still commit.</param>
    /// <returns>One result per job, in order.</returns>
    public abstract Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <see cref="ClaimRequest.Limit"/> runnable jobs (ready, scheduled or failed, whose run time has come)
    /// of a queue, by priority (highest first), then run time, then id, and leases them under one new token for
    /// <see cref="ClaimRequest.LeaseDuration"/>: one statement selects and leases, so two claimers never take the
    /// same job. Each claimed job's attempt count is incremented.
    /// </summary>
    /// <param name="request">What to claim.</param>
    /// <param name="onClaimed">
    /// Called as the claim's jobs commit, before the task completes: at least once, and once more for each further
    /// transaction a claim takes jobs in: together the calls carry every job of the returned batch, each in one call,
    /// and their <see cref="ClaimBatch.HeldBack"/> adds up to the batch's (a call's <see cref="ClaimBatch.NextRunIn"/>
    /// means nothing). Calling it before the claim's remaining work (such as its next-run query) starts the handlers
    /// sooner. A store with one writer calls it before any later write commits, so an in-process cancel committed
    /// after the claim always finds the claimed jobs registered; for other stores the next heartbeat reports such a cancel.
    /// </param>
    /// <remarks>
    /// Limits (docs/jobs/concurrency.md) are enforced here, by the store, for every process and host: a job with a
    /// concurrency key is taken only while fewer than its <see cref="NewJob.ConcurrencyLimit"/> jobs with that key are
    /// running (state running, in any queue), and a queue or key with a rate limit (<see cref="SetRateLimitAsync"/>) is
    /// taken only while fewer than its maximum starts were recorded in the window before now. A job held back is skipped,
    /// not taken: it spends no attempt and later jobs of other keys are still claimed. A keyed job claimed ahead counts as
    /// running for its key; jobs of a rate-limited queue or key are only claimed to start at once (up to
    /// <see cref="ClaimRequest.StartNow"/>), so a claim is a start. Keys are visited round robin, a bounded number per
    /// claim; a claim that stopped before visiting every key says so with a <see cref="ClaimBatch.NextRunIn"/> of zero.
    /// </remarks>
    /// <returns>The jobs, in claim order, and when the queue's next job becomes runnable if fewer were taken.</returns>
    public abstract Task<ClaimBatch> ClaimAsync(ClaimRequest request, Action<ClaimBatch>? onClaimed);

    /// <summary>
    /// Records that the handler of a job claimed ahead (<see cref="ClaimedJob.HandlerStarted"/> false) has started: from
    /// now on an expiry of its lease counts as a rescue. Not durable; may be coalesced with other marks.
    /// </summary>
    /// <param name="lease">The run.</param>
    /// <returns>A task that completes once the mark is written (or fails with the write's error).</returns>
    public abstract Task MarkStartedAsync(JobLease lease);

    /// <summary>Withdraws a start mark not yet written (the handler already finished: its outcome says more). Default: nothing.</summary>
    /// <param name="lease">The run.</param>
    public virtual void WithdrawStartMark(JobLease lease)
    {
    }

    /// <summary>Completes a run: succeeded, lease cleared. Durable. May be coalesced with other completions.</summary>
    /// <param name="lease">The run.</param>
    /// <returns>Whether the lease held (false: the run was rescued or cancelled, and nothing changed).</returns>
    public abstract Task<bool> CompleteAsync(JobLease lease);

    /// <summary>
    /// Records a failed attempt and either schedules the job's retry (state failed, runnable after
    /// <see cref="JobFailure.RetryDelay"/>) or makes it dead (<see cref="JobFailure.Dead"/>). Durable.
    /// </summary>
    /// <param name="lease">The run.</param>
    /// <param name="failure">The attempt, its error and what it leads to.</param>
    /// <returns>What the failure did; <see cref="FailOutcome.LeaseLost"/> if the lease no longer held (nothing changed).</returns>
    public abstract Task<FailOutcome> FailAsync(JobLease lease, JobFailure failure);

    /// <summary>Puts a run back as scheduled after <paramref name="delay"/>, refunding its attempt. Durable.</summary>
    /// <param name="lease">The run.</param>
    /// <param name="delay">When it runs again, from now.</param>
    /// <returns>Whether the lease held.</returns>
    public abstract Task<bool> SnoozeAsync(JobLease lease, TimeSpan delay);

    /// <summary>Gives a run back (shutdown, or claimed ahead and never started): ready again, attempt refunded. Durable.</summary>
    /// <param name="lease">The run.</param>
    /// <returns>Whether the lease held.</returns>
    public abstract Task<bool> GiveBackAsync(JobLease lease);

    /// <summary>The handler of a run cancelled while it ran has ended: clears the cancelled job's lease, so a retry may run it. Durable.</summary>
    /// <param name="lease">The run.</param>
    /// <returns>Whether the cancelled job still held that lease.</returns>
    public abstract Task<bool> ReleaseCancelledAsync(JobLease lease);

    /// <summary>
    /// Extends the leases of running jobs, and of jobs cancelled while they ran, by <paramref name="leaseDuration"/>
    /// from now, never to earlier than a lease expires already (two extensions may land out of order). Returns the runs
    /// whose lease was lost (rescued, or finished elsewhere) and those cancelled (their lease is extended all the same,
    /// until their handler ends).
    /// </summary>
    /// <param name="leases">The runs held.</param>
    /// <param name="leaseDuration">The new lease, from now.</param>
    /// <returns>The lost and the cancelled runs; empty when every lease held.</returns>
    public abstract Task<IReadOnlyList<LeaseCheck>> HeartbeatAsync(IReadOnlyList<JobLease> leases, TimeSpan leaseDuration);

    /// <summary>
    /// Rescues running jobs whose lease expired: first extends <see cref="RescueRequest.Held"/> (the leases this
    /// process holds and heartbeats, so a step of a clock never rescues them), then, in the same transaction, records an
    /// attempt for every expired run and puts it back ready with its attempt refunded. A run whose handler had started
    /// counts one rescue, and a job rescued more than <see cref="RescueRequest.MaxRescues"/> times is dead (poison); a
    /// run claimed ahead and never started is released, uncounted.
    /// </summary>
    /// <param name="request">The rescue.</param>
    /// <returns>How many runs were rescued, released and made dead.</returns>
    public abstract Task<RescueResult> RescueExpiredAsync(RescueRequest request);

    /// <summary>Cancels a job that is not finished. A running job keeps its lease until its handler ends (see <see cref="ReleaseCancelledAsync"/>).</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the cancel may still commit.</param>
    /// <returns>The job's queue if it was cancelled; <see langword="null"/> if there is no such job or it had finished.</returns>
    public abstract Task<string?> CancelAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Retries a failed, dead or cancelled job now, with fresh attempts and rescues; refused while a cancelled run's
    /// handler still holds its lease.
    /// </summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the retry may still commit.</param>
    /// <returns>The job's queue if it was put back; <see langword="null"/> otherwise.</returns>
    public abstract Task<string?> RetryAsync(long id, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> jobs (and their attempts) in a finished state that finished at least <paramref name="olderThan"/> ago, oldest id first.</summary>
    /// <param name="state">A finished state.</param>
    /// <param name="olderThan">The age; <see cref="TimeSpan.Zero"/>: every such job.</param>
    /// <param name="limit">At most this many, in one short transaction.</param>
    /// <param name="cancellationToken">Stops waiting; the delete may still commit.</param>
    /// <returns>How many were deleted.</returns>
    public abstract Task<int> PurgeBatchAsync(JobState state, TimeSpan olderThan, int limit, CancellationToken cancellationToken);

    /// <summary>Counts jobs by queue and state, without waiting for writes.</summary>
    /// <param name="queue">Only this queue, or all.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One entry per non-empty (queue, state), by queue then state.</returns>
    public abstract Task<IReadOnlyList<QueueStateCount>> GetCountsAsync(string? queue, CancellationToken cancellationToken);

    /// <summary>
    /// Totals by state over every queue, without waiting for writes: what a health check and a dashboard's totals read,
    /// often. The default sums <see cref="GetCountsAsync"/>; a store overrides it with a read that needs no queue: the
    /// grouping by (queue, state) sorts every job, and a retention of a day may keep a million finished ones.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Every state, with 0 for a state no job is in.</returns>
    public virtual async Task<IReadOnlyDictionary<JobState, long>> GetTotalsAsync(CancellationToken cancellationToken) =>
        JobTotals.Sum(await GetCountsAsync(null, cancellationToken).ConfigureAwait(false));

    /// <summary>Pages through jobs in a state by ascending id, filtered as the query says (validated by the queue).</summary>
    /// <param name="query">The state, the filters and the page.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    public abstract Task<JobPage> GetJobsAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>A job with its payload and attempts.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The job, or <see langword="null"/>.</returns>
    public abstract Task<JobDetails?> GetJobAsync(long id, CancellationToken cancellationToken);

    /// <summary>Sets (adds or replaces) a rate limit, stored in the store so every host enforces the same one.</summary>
    /// <param name="limit">The limit (validated by the queue).</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>A task that completes once the limit is durable.</returns>
    /// <exception cref="NotSupportedException">The store has no limits (the default).</exception>
    public virtual Task SetRateLimitAsync(JobRateLimit limit, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"The job store at {Location} does not support rate limits.");

    /// <summary>Removes a rate limit.</summary>
    /// <param name="scope">What it limits.</param>
    /// <param name="name">The queue or concurrency key.</param>
    /// <param name="cancellationToken">Stops waiting; the write may still commit.</param>
    /// <returns>Whether there was such a limit.</returns>
    /// <exception cref="NotSupportedException">The store has no limits (the default).</exception>
    public virtual Task<bool> RemoveRateLimitAsync(RateLimitScope scope, string name, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"The job store at {Location} does not support rate limits.");

    /// <summary>The rate limits set, by scope then name. Default: none.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The limits.</returns>
    public virtual Task<IReadOnlyList<JobRateLimit>> GetRateLimitsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<JobRateLimit>>([]);

    /// <summary>
    /// The concurrency keys in use: keys of jobs that are running or waiting to run (scheduled, ready, failed with a
    /// retry), with their limit, by most running then key. Default: none.
    /// </summary>
    /// <param name="limit">At most this many keys.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The keys.</returns>
    public virtual Task<IReadOnlyList<ConcurrencyKeyUsage>> GetConcurrencyKeysAsync(int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ConcurrencyKeyUsage>>([]);

    /// <summary>Periodic upkeep of the store, run by the processor's maintenance after retention (the SQLite store checkpoints its write-ahead log). Default: nothing.</summary>
    /// <param name="cancellationToken">Stops the upkeep.</param>
    /// <returns>Whether it did something.</returns>
    public virtual Task<bool> MaintainAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    /// <summary>Marks the store as owned by a queue; false if a queue already owns it.</summary>
    internal bool TryTakeOwnership() => Interlocked.Exchange(ref _owned, 1) == 0;

    /// <summary>Closes the store. Writes already accepted still complete first. Harmless twice.</summary>
    /// <returns>A task that completes once the store is closed.</returns>
    public abstract ValueTask DisposeAsync();
}

/// <summary>What a store gets from the queue that opens it.</summary>
public sealed class JobStoreContext
{
    private readonly Action<string> _jobsAvailable;
    private readonly Action<long> _jobCancelled;

    /// <summary>Creates a context: the queue does this when it opens its store; a store's own tests may too.</summary>
    /// <param name="options">The queue's options.</param>
    /// <param name="time">The queue's clock.</param>
    /// <param name="loggerFactory">The queue's logging.</param>
    /// <param name="jobsAvailable">Called with a queue name when jobs of that queue became runnable elsewhere.</param>
    /// <param name="jobCancelled">Called with a job id when a job was cancelled elsewhere.</param>
    public JobStoreContext(LadderJobsOptions options, TimeProvider time, ILoggerFactory loggerFactory, Action<string> jobsAvailable, Action<long> jobCancelled)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(jobsAvailable);
        ArgumentNullException.ThrowIfNull(jobCancelled);
        Options = options;
        Time = time;
        LoggerFactory = loggerFactory;
        _jobsAvailable = jobsAvailable;
        _jobCancelled = jobCancelled;
    }

    /// <summary>The queue's options (validated; a copy the store must not change).</summary>
    public LadderJobsOptions Options { get; }

    /// <summary>The queue's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The queue's logging.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Tells this process's processors that jobs of a queue became runnable elsewhere (another process's commit).</summary>
    /// <param name="queue">The queue name.</param>
    public void JobsAvailable(string queue) => _jobsAvailable(queue);

    /// <summary>Tells this process's processors that a job was cancelled elsewhere.</summary>
    /// <param name="id">The job id.</param>
    public void JobCancelled(long id) => _jobCancelled(id);
}

/// <summary>A run: a job and the token of the lease its claim took. Every outcome is a compare-and-set on both.</summary>
/// <param name="JobId">The job id.</param>
/// <param name="Token">The lease token (a random non-zero number per claim).</param>
public readonly record struct JobLease(long JobId, long Token);

/// <summary>A job to insert, built by the queue from a <see cref="JobRequest"/> and the queue's defaults.</summary>
/// <param name="Queue">The queue name.</param>
/// <param name="Kind">The job kind.</param>
/// <param name="PayloadJson">The payload.</param>
/// <param name="Priority">Higher runs first.</param>
/// <param name="RunAt">When it may run, if the request gave a time; otherwise <paramref name="Delay"/> from the store's now.</param>
/// <param name="Delay">How long after the store's now it may run (zero: at once); ignored when <paramref name="RunAt"/> is set.</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="Timeout">The per-attempt timeout; <see langword="null"/>: none.</param>
/// <param name="UniqueKey">The unique key within its kind, if any.</param>
/// <param name="TraceParent">The W3C trace parent of the enqueuing activity, if any.</param>
/// <param name="ConcurrencyKey">Its concurrency key, if any (see <see cref="JobOptions.ConcurrencyKey"/>).</param>
/// <param name="ConcurrencyLimit">With a key: how many jobs with the key may run at once (1 or more); 0 without a key.</param>
public sealed record NewJob(
    string Queue, string Kind, string PayloadJson, int Priority, DateTimeOffset? RunAt, TimeSpan Delay, int MaxAttempts, TimeSpan? Timeout,
    string? UniqueKey, string? TraceParent, string? ConcurrencyKey = null, int ConcurrencyLimit = 0);

/// <summary>What a claim asks for.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Limit">How many jobs at most (at least 1).</param>
/// <param name="StartNow">How many of them start their handlers at once (recorded as started by the claim); the rest are claimed ahead.</param>
/// <param name="LeaseDuration">The lease, from the store's now.</param>
public sealed record ClaimRequest(string Queue, int Limit, int StartNow, TimeSpan LeaseDuration);

/// <summary>A job claimed under a lease: everything a processor needs to run it and report its outcome.</summary>
/// <param name="Lease">The run.</param>
/// <param name="Queue">Its queue.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="PayloadJson">Its payload.</param>
/// <param name="Attempt">This attempt's number (1 for the first).</param>
/// <param name="MaxAttempts">Attempts allowed.</param>
/// <param name="Rescues">Counted rescues so far.</param>
/// <param name="Timeout">Its per-attempt timeout as stored; <see langword="null"/>: none.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
/// <param name="RunAt">When it became runnable.</param>
/// <param name="StartedAt">When this claim took it (the store's now).</param>
/// <param name="TraceParent">The enqueuing activity's trace parent, if any.</param>
/// <param name="Priority">Its priority.</param>
/// <param name="HandlerStarted">Whether the claim recorded its handler as started (it runs at once); false: claimed ahead.</param>
/// <param name="RescuesUnstarted">Times its lease expired before its handler was recorded as started.</param>
/// <param name="Limited">
/// Whether a limit (a concurrency key, or a rate limit of its queue) governed its claim: when its run ends, the processor
/// wakes its queue's fetcher, since a job held back by the same limit may now start.
/// </param>
public sealed record ClaimedJob(
    JobLease Lease, string Queue, string Kind, string PayloadJson, int Attempt, int MaxAttempts, int Rescues, TimeSpan? Timeout,
    DateTimeOffset CreatedAt, DateTimeOffset RunAt, DateTimeOffset StartedAt, string? TraceParent, int Priority, bool HandlerStarted = true,
    int RescuesUnstarted = 0, bool Limited = false)
{
    /// <summary>The job id.</summary>
    public long Id => Lease.JobId;

    /// <summary>
    /// Whether the job was rescued before: counted, or before its start was recorded (perhaps a crash right at its
    /// start). Such a job, claimed ahead, waits for its start mark to be written before its handler runs.
    /// </summary>
    public bool WasRescued => Rescues > 0 || RescuesUnstarted > 0;
}

/// <summary>The jobs a claim took.</summary>
/// <param name="Jobs">The jobs, in claim order.</param>
/// <param name="NextRunIn">
/// If fewer were taken than asked: how long until the queue's next job becomes runnable (zero or less: now), or until a
/// rate limit lets the next start; <see langword="null"/>: none waits (jobs held back by a concurrency key wait for a
/// run of their key to end, which wakes the processor that ran it, and others at their next poll or notification).
/// </param>
/// <param name="HeldBack">How many runnable jobs the claim saw and left because of a limit (a concurrency key or a rate limit).</param>
public sealed record ClaimBatch(IReadOnlyList<ClaimedJob> Jobs, TimeSpan? NextRunIn, int HeldBack = 0);

/// <summary>A failed attempt, as the queue decided it.</summary>
/// <param name="Attempt">The attempt's number.</param>
/// <param name="StartedAt">When the attempt started (<see cref="ClaimedJob.StartedAt"/>).</param>
/// <param name="Dead">Whether the job is dead (permanent failure, or its last attempt).</param>
/// <param name="RetryDelay">When not dead: how long from now until it runs again.</param>
/// <param name="ErrorType">The exception's type.</param>
/// <param name="ErrorMessage">The exception's message.</param>
/// <param name="ErrorStack">The stack trace.</param>
public sealed record JobFailure(int Attempt, DateTimeOffset StartedAt, bool Dead, TimeSpan RetryDelay, string ErrorType, string ErrorMessage, string? ErrorStack)
{
    /// <summary>The job's last error as stored on it: <c>type: message</c>.</summary>
    public string LastError => $"{ErrorType}: {ErrorMessage}";
}

/// <summary>What a failure did to its job.</summary>
public enum FailOutcome
{
    /// <summary>The lease no longer held: nothing changed.</summary>
    LeaseLost,

    /// <summary>The job will run again.</summary>
    Retrying,

    /// <summary>The job is dead.</summary>
    Dead,
}

/// <summary>A run whose heartbeat did not simply extend its lease.</summary>
/// <param name="Lease">The run.</param>
/// <param name="Cancelled">True: the job was cancelled (its lease still extended); false: the lease was lost.</param>
public readonly record struct LeaseCheck(JobLease Lease, bool Cancelled);

/// <summary>What a rescue is given.</summary>
/// <param name="Held">The leases this process holds and heartbeats: extended first, never rescued.</param>
/// <param name="LeaseDuration">The lease to extend them by.</param>
/// <param name="MaxRescues">Counted rescues a job may have; one more makes it dead (poison).</param>
public sealed record RescueRequest(IReadOnlyCollection<JobLease> Held, TimeSpan LeaseDuration, int MaxRescues);

/// <summary>What a rescue did.</summary>
/// <param name="Rescued">Runs put back (or made dead) whose handler had started.</param>
/// <param name="Released">Runs put back uncounted: claimed ahead, never started.</param>
/// <param name="Dead">Of <paramref name="Rescued"/>, how many are now dead (poison).</param>
public readonly record struct RescueResult(int Rescued, int Released, int Dead);

/// <summary>
/// A caller's own open transaction, enlisted by a store, so that jobs enqueued in it commit or vanish with the caller's
/// writes (see <c>JobQueue.Enlist(JobEnlistment)</c>). A server store sends its wake-up inside the transaction,
/// delivered only by the commit.
/// </summary>
public abstract class JobEnlistment
{
    /// <summary>Inserts a job in the caller's transaction, as <see cref="JobStore.EnqueueAsync"/> does one job.</summary>
    /// <param name="job">The job.</param>
    /// <returns>Its id (valid once committed), and whether it was inserted.</returns>
    public abstract EnqueueResult Insert(NewJob job);

    /// <summary>Inserts a job in the caller's transaction.</summary>
    /// <param name="job">The job.</param>
    /// <param name="cancellationToken">Cancels the insert.</param>
    /// <returns>Its id (valid once committed), and whether it was inserted.</returns>
    public virtual Task<EnqueueResult> InsertAsync(NewJob job, CancellationToken cancellationToken) => Task.FromResult(Insert(job));

    /// <summary>Commits the caller's transaction.</summary>
    public abstract void Commit();

    /// <summary>Commits the caller's transaction.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>A task that completes after the commit.</returns>
    public abstract Task CommitAsync(CancellationToken cancellationToken);
}
