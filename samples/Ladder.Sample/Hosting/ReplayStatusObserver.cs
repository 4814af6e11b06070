namespace Ladder.Sample.Hosting;

/// <summary>
/// Called inside every replay status read, between its read of the job and its read of the match. Does nothing in
/// the sample; the integration tests replace it to hold a status read open while the replay's job finishes on
/// another host, the race that once reported a succeeded job beside a match still being played.
/// </summary>
internal class ReplayStatusObserver
{
    public virtual ValueTask BetweenReadsAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
