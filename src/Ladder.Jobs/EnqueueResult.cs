namespace Ladder.Jobs;

/// <summary>The outcome of an enqueue.</summary>
/// <param name="JobId">The id of the job: the new one, or the existing job that holds the same unique key.</param>
/// <param name="Inserted"><see langword="true"/> when a new job was inserted; <see langword="false"/> when a job with the same kind and unique key already existed.</param>
public readonly record struct EnqueueResult(long JobId, bool Inserted);
