namespace Ladder.Caching.Internal;

/// <summary>
/// Which (view, key) loads the current async flow is inside. A loader that reads its own key would wait on its own
/// single-flight task for ever; this turns that into a <see cref="CacheReentrancyException"/> at once.
/// </summary>
/// <remarks>
/// A cycle across flows (A's loader reads B while, in another flow, B's loader reads A) is invisible to the frame
/// chain, so loads also keep a wait-for graph: before a loader awaits another flight it records that edge and walks
/// the edges from there; reaching its own flight means a deadlock, reported as a reentrancy instead.
/// </remarks>
internal static class LoadContext
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Marks the flow as loading (view, key) for <paramref name="flight"/>. Call at the start of the async
    /// method that runs the loader: the async method builder restores the caller's context on return, so the mark
    /// never leaks to the caller.</summary>
    public static void Enter(ViewBase view, object key, LoadFlight flight) => Current.Value = new Frame(view, key, flight, Current.Value);

    /// <summary>
    /// The cycle that reading (view, key) from this flow would close, if this flow is inside that load: the loads in
    /// wait order from the re-entered one back to it (a loader reading its own key: that load twice); else null.
    /// </summary>
    public static IReadOnlyList<string>? FindCycle(ViewBase view, object key)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Parent)
        {
            if (ReferenceEquals(frame.View, view) && Equals(frame.Key, key))
            {
                // Frames run from the innermost load out to the re-entered one; each waits for the one inside it.
                var cycle = new List<string>();
                for (var inner = Current.Value; !ReferenceEquals(inner, frame); inner = inner!.Parent)
                {
                    cycle.Add(inner!.Flight.Label);
                }

                cycle.Add(frame.Flight.Label);
                cycle.Reverse();
                cycle.Add(frame.Flight.Label);
                return cycle;
            }
        }

        return null;
    }

    /// <summary>
    /// Records that the load running in this flow (if any) is about to wait on <paramref name="target"/>, and
    /// returns that load's flight (to pass to <see cref="EndWait"/>), or null outside a load.
    /// </summary>
    /// <returns>The waiting flight, or null when this flow runs no load or waits on its own flight.</returns>
    /// <exception cref="CacheReentrancyException">Waiting would close a cycle of loads.</exception>
    public static LoadFlight? BeginWait(LoadFlight target, string viewName, object key)
    {
        var self = Current.Value?.Flight;
        if (self is null || ReferenceEquals(self, target))
        {
            return null;
        }

        // Dekker: each side publishes its edge with a full fence, then walks. Of two loads closing a cycle at the
        // same time, at least one sees the other's edge (both may, and then both fail, which is still no deadlock).
        Interlocked.Exchange(ref self.WaitingOn, target);
        var steps = 0;
        for (var flight = target; flight is not null && steps < 10_000; flight = Volatile.Read(ref flight.WaitingOn), steps++)
        {
            if (ReferenceEquals(flight, self))
            {
                Interlocked.Exchange(ref self.WaitingOn, null);
                throw new CacheReentrancyException(viewName, key, DescribeCycle(target, self));
            }
        }

        return self;
    }

    /// <summary>Removes the edge recorded by <see cref="BeginWait"/>.</summary>
    public static void EndWait(LoadFlight? self)
    {
        if (self is not null)
        {
            Volatile.Write(ref self.WaitingOn, null);
        }
    }

    /// <summary>
    /// The loads from <paramref name="target"/> along the wait-for edges to <paramref name="self"/> (which is about to
    /// wait on the target), then the target again: the real cycle, so every reader it fails is told which loads form
    /// it. The edges may move meanwhile (other loads end); the walk is bounded and stops at a missing edge.
    /// </summary>
    private static List<string> DescribeCycle(LoadFlight target, LoadFlight self)
    {
        var cycle = new List<string>();
        var steps = 0;
        for (var flight = target; flight is not null && steps < 10_000; flight = Volatile.Read(ref flight.WaitingOn), steps++)
        {
            cycle.Add(flight.Label);
            if (ReferenceEquals(flight, self))
            {
                break;
            }
        }

        cycle.Add(target.Label);
        return cycle;
    }

    private sealed record Frame(ViewBase View, object Key, LoadFlight Flight, Frame? Parent);
}

/// <summary>A running load as a node of the wait-for graph.</summary>
internal abstract class LoadFlight
{
    /// <summary>The flight this load's loader is waiting on now, or null.</summary>
    public LoadFlight? WaitingOn;

    /// <summary>The load for people: <c>view 'a' key 'x'</c>.</summary>
    public abstract string Label { get; }
}
