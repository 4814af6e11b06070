using System.Threading.Channels;

namespace Ladder.Jobs;

/// <summary>One queue's fetcher state: its slots, its dispatch channel and its wake-up signal.</summary>
internal sealed class QueueWorker(string name, int concurrency, int prefetch)
{
    public string Name { get; } = name;

    public int Concurrency { get; } = concurrency;

    /// <summary>Leases held at once (running + claimed ahead); bounds what a crash can run twice.</summary>
    public int MaxOutstanding { get; } = concurrency + prefetch;

    public SemaphoreSlim Outstanding { get; } = new(concurrency + prefetch, concurrency + prefetch);

    /// <summary>While claimed-ahead jobs wait in <see cref="Dispatch"/>, the fetcher claims no fewer than this many.</summary>
    public int RefillAt { get; } = Math.Max(1, prefetch / 2);

    /// <summary>
    /// Claimed jobs to the handler tasks: one writer at a time (the commit callback of this queue's one claim in
    /// flight, on the writer thread), <see cref="Concurrency"/> readers. Reader continuations run on the thread pool
    /// (no AllowSynchronousContinuations), never inline on the writer thread.
    /// </summary>
    public Channel<RunningJob> Dispatch { get; } = Channel.CreateUnbounded<RunningJob>(new UnboundedChannelOptions { SingleWriter = true });

    /// <summary>A one-slot signal: set after a commit makes jobs of this queue runnable.</summary>
    public Channel<bool> Wake { get; } = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private int _running;

    /// <summary>
    /// Workers taking a job from the channel or running one whose slot is not yet freed. A worker counts itself before
    /// it reads the channel and stops counting as the slot is freed, so a job is always in the channel or counted
    /// here: <see cref="FreeSlots"/> may be low for a moment, never high.
    /// </summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>How many jobs of a claim will start their handlers at once: the slots neither running nor spoken for.</summary>
    public int FreeSlots => Math.Max(0, Concurrency - Running - Dispatch.Reader.Count);

    public void Entered() => Interlocked.Increment(ref _running);

    public void Left() => Interlocked.Decrement(ref _running);

    public Task Fetcher { get; set; } = Task.CompletedTask;

    public Task[] Workers { get; set; } = [];
}
