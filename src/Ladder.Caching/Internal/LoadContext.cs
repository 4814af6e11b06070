namespace Ladder.Caching.Internal;

/// <summary>
/// Which (view, key) loads the current async flow is inside. A loader that reads its own key would wait on its own
/// single-flight task for ever; this turns that into a <see cref="CacheReentrancyException"/> at once.
/// </summary>
internal static class LoadContext
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Marks the flow as loading (view, key). Call at the start of the async method that runs the loader:
    /// the async method builder restores the caller's context on return, so the mark never leaks to the caller.</summary>
    public static void Enter(ViewBase view, object key) => Current.Value = new Frame(view, key, Current.Value);

    public static bool IsLoading(ViewBase view, object key)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Parent)
        {
            if (ReferenceEquals(frame.View, view) && Equals(frame.Key, key))
            {
                return true;
            }
        }

        return false;
    }

    private sealed record Frame(ViewBase View, object Key, Frame? Parent);
}
