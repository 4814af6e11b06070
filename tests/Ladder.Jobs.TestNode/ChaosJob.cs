using System.Security.Cryptography;

namespace Ladder.Jobs.TestNode;

/// <summary>A chaos-test job: its number (the orchestrator enqueues 0..N-1 with unique keys).</summary>
/// <param name="Number">The job number.</param>
[JobKind("chaos-job")]
internal sealed record ChaosJob(int Number);

/// <summary>What a run does between its start and end lines.</summary>
internal static class ChaosWork
{
    /// <summary>
    /// A little CPU (hashing a few kilobytes) and a wait of <paramref name="work"/>, like a handler that calls another
    /// service: runs take long enough that a kill finds some of them in flight, without burning the shared cores.
    /// </summary>
    public static async Task RunAsync(ChaosJob job, TimeSpan work, TimeProvider time, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        BitConverter.TryWriteBytes(buffer, job.Number);
        for (var i = 0; i < 16; i++)
        {
            SHA256.HashData(buffer, buffer.AsSpan(0, 32));
        }

        await Task.Delay(work, time, cancellationToken);
    }
}
