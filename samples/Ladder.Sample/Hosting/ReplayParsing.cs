using System.Text.Json;
using Ladder.Sample.Replays;
using Ladder.Workers;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>The outcome of one parse attempt in the pool.</summary>
internal sealed record ParseOutcome(ParseReply? Reply, bool TimedOut, TimeSpan Deadline, int WorkerProcessId, TimeSpan RunDuration);

/// <summary>Runs the replay parser in the Ladder.Workers pool with the configured deadline.</summary>
internal sealed class ReplayParsing(WorkerPool pool, IOptions<LadderOptions> options)
{
    /// <summary>
    /// Parses in a worker. A deadline is an outcome (<see cref="ParseOutcome.TimedOut"/>), not an exception: the stuck
    /// worker has already been killed and replaced when this returns.
    /// </summary>
    /// <exception cref="WorkerException">The worker crashed (e.g. past its heap cap), broke the protocol, or the pool is down.</exception>
    public async Task<ParseOutcome> ParseAsync(byte[] replay, CancellationToken cancellationToken)
    {
        var call = new WorkerCallOptions { Deadline = options.Value.ParseDeadline, TimeoutBehavior = WorkerTimeoutBehavior.ReturnResult, RetryOnTimeout = false };
        var result = await pool.InvokeBytesAsync(ParserWorker.ParseOperation, replay, call, cancellationToken);
        var reply = result.WasTimeout ? null : JsonSerializer.Deserialize<ParseReply>(result.Value, ParserWorker.Json);
        return new ParseOutcome(reply, result.WasTimeout, result.Deadline, result.WorkerProcessId, result.RunDuration);
    }

    public WorkerPoolStats Stats => pool.GetStats();
}
