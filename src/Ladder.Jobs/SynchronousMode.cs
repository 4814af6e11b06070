namespace Ladder.Jobs;

/// <summary>How hard SQLite works to make a commit survive a power loss (<c>PRAGMA synchronous</c>).</summary>
public enum SynchronousMode
{
    /// <summary>
    /// Every commit that records an enqueue or an outcome is flushed to disk before it is acknowledged:
    /// an acknowledged job survives a power loss. The default.
    /// </summary>
    Full = 0,

    /// <summary>
    /// The write-ahead log is flushed only at checkpoints: a process crash loses nothing, but a power loss or
    /// an OS crash may lose the last acknowledged commits. Faster; a documented trade-off.
    /// </summary>
    Normal = 1,
}
