using System.Diagnostics;

namespace Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;

/// <summary>
/// One awaited observation at a time: the harness arms it, publishes on node A, and node B's hook completes it with
/// the <see cref="Stopwatch"/> timestamp at which the change was applied there (optionally only for one key).
/// </summary>
internal sealed class Signal
{
    private volatile Armed? _armed;

    public Task<long> Arm(string? key = null)
    {
        var armed = new Armed(key);
        _armed = armed;
        return armed.Completion.Task;
    }

    /// <summary>Called by a node's hook after it applied a change for <paramref name="key"/> (null: any key).</summary>
    public void Observe(string? key)
    {
        var timestamp = Stopwatch.GetTimestamp();
        var armed = _armed;
        if (armed is not null && (armed.Key is null || key is null || string.Equals(armed.Key, key, StringComparison.Ordinal)))
        {
            armed.Completion.TrySetResult(timestamp);
        }
    }

    private sealed class Armed(string? key)
    {
        public string? Key { get; } = key;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
