using System.Text.Json;
using Ladder.Sample.Replays;
using Ladder.Workers;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>The outcome of one parse attempt in the pool.</summary>
internal sealed record ParseOutcome(ParseReply? Reply, bool TimedOut, TimeSpan Deadline, int WorkerProcessId, TimeSpan RunDuration);

/// <summary>Runs the replay parser in the Ladder.Workers pool with the configured deadline.</summary>
internal sealed class ReplayParsing(WorkerPool pool, IOptions<LadderOptions> options, PoolIncidents? incidents = null)
{
    /// <inheritdoc cref="ParseAsync(byte[], string?, CancellationToken)"/>
    public Task<ParseOutcome> ParseAsync(byte[] replay, CancellationToken cancellationToken)
        => ParseAsync(replay, null, cancellationToken);

    /// <summary>
    /// Parses in a worker. A deadline is an outcome (<see cref="ParseOutcome.TimedOut"/>), not an exception: the stuck
    /// worker has already been killed and replaced when this returns. Timeouts and crashes are kept as incidents,
    /// naming <paramref name="replayName"/>.
    /// </summary>
    /// <exception cref="WorkerException">The worker crashed (e.g. past its heap cap), broke the protocol, or the pool is down.</exception>
    public async Task<ParseOutcome> ParseAsync(byte[] replay, string? replayName, CancellationToken cancellationToken)
    {
        var call = new WorkerCallOptions { Deadline = options.Value.ParseDeadline, TimeoutBehavior = WorkerTimeoutBehavior.ReturnResult, RetryOnTimeout = false };
        WorkerResult<byte[]> result;
        try
        {
            result = await pool.InvokeBytesAsync(ParserWorker.ParseOperation, replay, call, cancellationToken);
        }
        catch (WorkerCrashedException e)
        {
            incidents?.Add("crash", e.ProcessId, replayName, $"{e.Reason}, exit code {e.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
            throw;
        }

        if (result.WasTimeout)
        {
            incidents?.Add("timeout", result.WorkerProcessId, replayName,
                $"passed its deadline of {result.Deadline.TotalSeconds:0.###} s; the worker was killed and replaced");
        }

        var reply = result.WasTimeout ? null : JsonSerializer.Deserialize<ParseReply>(result.Value, ParserWorker.Json);
        return new ParseOutcome(reply, result.WasTimeout, result.Deadline, result.WorkerProcessId, result.RunDuration);
    }

    public WorkerPoolStats Stats => pool.GetStats();

    /// <summary>The last timeouts and crashes, newest first (none when built without <see cref="PoolIncidents"/>).</summary>
    public IReadOnlyList<Ladder.Sample.Api.PoolIncident> RecentIncidents => incidents?.Recent() ?? [];
}
