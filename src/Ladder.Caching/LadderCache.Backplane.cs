using Ladder.Caching.Internal;

namespace Ladder.Caching;

// The receiving side of the backplane. (A plain comment: a doc comment on a second partial declaration would be
// appended to the type's summary in the XML documentation.)
public sealed partial class LadderCache
{
    private sealed class BackplaneReceiver(LadderCache cache) : IBackplaneSubscriber
    {
        public string NodeId => cache.NodeId;

        public void OnChanges(ReadOnlySpan<Change> changes)
        {
            // Applied locally only: re-sending would echo changes around the nodes for ever.
            foreach (ref readonly var change in changes)
            {
                cache.Apply(change);
            }
        }

        public void OnReconnected()
        {
            // Changes may have been lost while disconnected, and nobody knows which: everything is suspect.
            Log.BackplaneReconnected(cache._logger);
            cache.InvalidateAll();
        }

        public void OnStarted()
        {
            // Not a loss (the backplane logs its start): only what was loaded before the start is dropped.
            Log.BackplaneStarted(cache._logger);
            cache.InvalidateAll();
        }
    }
}
