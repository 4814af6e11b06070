using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerHost
{
    private const string WarmUpOperation = "ladder-warm-up";
    private static readonly byte[] NoPayload = [];

    /// <summary>
    /// The worker's loop, on dedicated threads with plain blocking reads: a worker process has nothing else to do, and
    /// a blocking read of a pipe wakes faster than the console stream's async emulation.
    /// </summary>
    /// <param name="input">The pool's frames.</param>
    /// <param name="output">Our frames.</param>
    /// <param name="maxFrame">The largest frame body read or written.</param>
    /// <param name="cancellationToken">Stops the loop.</param>
    /// <param name="endsItsGroup">
    /// Whether input that ends without a shutdown frame (the pool's process is gone: killed, crashed) also kills what the
    /// handlers started in this process's group before the loop returns. Only for the process's own stdin.
    /// </param>
    internal Task<int> RunAsync(Stream input, Stream output, int maxFrame, CancellationToken cancellationToken, bool endsItsGroup = false)
    {
        var session = new Session(this, input, output, maxFrame, endsItsGroup);
        var thread = new Thread(static s => ((Session)s!).Start()) { IsBackground = true, Name = "ladder-worker" };
        thread.Start(session);
        return session.RunAsync(cancellationToken);
    }

    /// <summary>
    /// One pool connection. Two threads take turns (leader/follower): the one that reads a call hands reading over to
    /// the other and runs the call itself, so a call goes from read(2) to its handler and its response without a
    /// thread hop, and a handler that blocks synchronously still never stops cancel frames being read. The pool sends
    /// a call only after the previous one answered, so the other thread is always back (or on its way) to take over.
    /// </summary>
#pragma warning disable CA1001 // _current is disposed when the session ends, not by the owner of the session.
    private sealed class Session(WorkerHost host, Stream input, Stream output, int maxFrame, bool endsItsGroup)
#pragma warning restore CA1001
    {
        private readonly Lock _writeLock = new();
        private readonly Lock _callLock = new();
        private readonly ReadTurn _readTurn = new();
        private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenSource? _current;
        private long _currentId = -1;
        private int _stopped;
        private int _poolGone;

        public async Task<int> RunAsync(CancellationToken cancellationToken)
        {
            // Stopping the host closes stdin, which ends the blocking read.
            using var stop = cancellationToken.Register(static s => ((Stream)s!).Dispose(), input);
            try
            {
                var code = await _exit.Task.ConfigureAwait(false);
                if (endsItsGroup && Volatile.Read(ref _poolGone) == 1 && !cancellationToken.IsCancellationRequested)
                {
                    // The pool kills this group when it sees us exit; a pool that is gone cannot. What the handlers
                    // started (they inherit our group) would outlive both: a killed pool left a handler's child running.
                    // So the worker ends its group itself, itself included: a kill of its own group id, which no other
                    // process can hold while it lives (a kill by pid, of each member found, could hit a reused pid).
                    if (Processes.ProcessTree.OtherMembersOfOwnGroup() is var others and > 0)
                    {
                        await Console.Error.WriteLineAsync($"ladder-worker: the pool is gone; ending this worker's process group ({others} other process(es))").ConfigureAwait(false);
                        await Console.Error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        Processes.ProcessTree.KillOwnGroup();
                    }
                }

                return code;
            }
            finally
            {
                lock (_callLock)
                {
                    _current?.Dispose();
                    _current = null;
                }
            }
        }

        public void Start()
        {
            WarmUp(host);
            try
            {
                Write(output, _writeLock, FrameType.Hello, 0, Messages.Hello(Environment.ProcessId), NoPayload, maxFrame);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The pool is already gone.
                Stop(0);
                return;
            }

            var follower = new Thread(static s => ((Session)s!).Follow()) { IsBackground = true, Name = "ladder-worker" };
            follower.Start(this);
            Lead();
        }

        private void Follow()
        {
            _readTurn.Wait();
            Lead();
        }

        /// <summary>Reads until a call arrives, runs it on this thread, then waits for its next turn to read.</summary>
        private void Lead()
        {
            while (Volatile.Read(ref _stopped) == 0)
            {
                if (ReadUntilCall() is not { } call)
                {
                    return;
                }

                _readTurn.Release();
                _ = host.RunCallAsync(output, _writeLock, call.Id, call.Operation, call.Payload, maxFrame, call.Token);
                _readTurn.Wait();
            }
        }

        private (long Id, string Operation, ReadOnlyMemory<byte> Payload, CancellationToken Token)? ReadUntilCall()
        {
            try
            {
                while (true)
                {
                    // End of stdin: the pool is gone (the pool closes it only after our exit); never outlive it.
                    if (FrameIO.Read(input, maxFrame) is not { } frame)
                    {
                        Volatile.Write(ref _poolGone, 1);
                        return Stop(0);
                    }

                    if (frame.Type == FrameType.Shutdown)
                    {
                        return Stop(0);
                    }

                    switch (frame.Type)
                    {
                        case FrameType.Call:
                            var (operation, payload) = Messages.ReadCall(frame.Data);
                            lock (_callLock)
                            {
                                _current?.Dispose();
                                _current = new CancellationTokenSource();
                                _currentId = frame.CallId;
                                return (frame.CallId, operation, payload, _current.Token);
                            }

                        case FrameType.Cancel:
                            CancellationTokenSource? cancel;
                            lock (_callLock)
                            {
                                cancel = frame.CallId == _currentId ? _current : null;
                            }

                            // Outside the lock, and not inline: the handler's cancellation callbacks (and the
                            // continuations awaiting its token) run on the thread pool, so a callback that blocks
                            // cannot stall this reading thread and one that throws cannot kill it (and the worker).
                            try
                            {
                                // A throwing callback faults this task; observed, so it is not reported as unobserved.
                                cancel?.CancelAsync().ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                            }
                            catch (ObjectDisposedException)
                            {
                                // The session is ending (it disposes the last call's source): nothing left to cancel.
                            }

                            break;
                        default:
                            throw new ProtocolViolationException($"unexpected {frame.Type} frame");
                    }
                }
            }
            catch (ProtocolViolationException ex)
            {
                if (ex.Truncated)
                {
                    // A frame cut short: the pool died while it wrote a large one. As gone as at a clean end.
                    Volatile.Write(ref _poolGone, 1);
                }

                Console.Error.WriteLine($"ladder-worker: protocol error: {ex.Message}");
                return Stop(ExitProtocolError);
            }
            catch (IOException)
            {
                Volatile.Write(ref _poolGone, 1);
                return Stop(0);
            }
            catch (ObjectDisposedException)
            {
                return Stop(0); // The host was stopped (its token closes stdin).
            }
        }

        private (long, string, ReadOnlyMemory<byte>, CancellationToken)? Stop(int exitCode)
        {
            // The other thread may be waiting for its turn: wake it so it sees the stop and ends.
            Volatile.Write(ref _stopped, 1);
            _readTurn.Release();
            _exit.TrySetResult(exitCode);
            return null;
        }
    }

    /// <summary>
    /// Ends the process at once with <see cref="ExitOutOfMemory"/>. Not <see cref="Environment.Exit(int)"/>: the runtime's
    /// orderly exit waits, without a bound, for the finalizer thread to run the process's exit handlers, and code that
    /// ran out of memory may have left that thread blocked (a finalizer or an exit hook of the handler's libraries);
    /// the worker then sat silent until its deadline instead of reporting the heap cap.
    /// </summary>
    private static void EndOutOfMemory(string operation)
    {
        try
        {
            Console.Error.WriteLine($"ladder-worker: out of memory in '{operation}'");
        }
#pragma warning disable CA1031 // The line is a courtesy (the exit code says it); nothing may keep the process from ending.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        Processes.ProcessTree.ExitNow(ExitOutOfMemory);
    }

    private async Task RunCallAsync(
        Stream output, Lock writeLock, long callId, string operation, ReadOnlyMemory<byte> payload, int maxFrame, CancellationToken token,
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? handler = null)
    {
        FrameType type;
        byte[] data;
        try
        {
            if (handler is null && !_handlers.TryGetValue(operation, out handler))
            {
                throw new UnknownOperationException($"No handler is mapped for '{operation}'.");
            }

            data = await handler(payload, token).ConfigureAwait(false);
            type = FrameType.Result;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            type = FrameType.Cancelled;
            data = NoPayload;
        }
        catch (OutOfMemoryException)
        {
            // The heap cap was hit: this process's state can't be trusted; end it so the pool replaces it.
            EndOutOfMemory(operation);
            return;
        }
#pragma warning disable CA1031 // Any handler exception is reported to the caller as a typed remote exception.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            type = FrameType.Error;
            data = Messages.Error(new RemoteError(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex.StackTrace));
        }

        // Reading the working set costs a /proc read: only when the pool recycles by memory.
        var memory = Messages.MemoryPrefix(_reportMemory ? Environment.WorkingSet : 0);
        try
        {
            Write(output, writeLock, type, callId, memory, data, maxFrame);
        }
        catch (ProtocolViolationException ex)
        {
            // The response is over the cap: say so instead of sending a frame the pool would have to reject.
            var error = Messages.Error(new RemoteError("Ladder.Workers.ResponseTooLarge", ex.Message, null));
            Write(output, writeLock, FrameType.Error, callId, memory, error, maxFrame);
        }
        catch (IOException)
        {
            // The pool is gone; the read loop sees the end of stdin and exits.
        }
    }

    /// <summary>
    /// Runs the host's own frame and call path once in memory before the handshake (a no-op handler, its result frame),
    /// so a fresh worker (a replacement, or the warm spare taking over after a kill) does not pay for JIT compilation
    /// on its first real call.
    /// </summary>
    private static void WarmUp(WorkerHost host)
    {
        using var buffer = new MemoryStream();
        FrameIO.Write(buffer, FrameType.Call, 1, Messages.CallPrefix(WarmUpOperation), NoPayload, int.MaxValue);
        buffer.Position = 0;
        var (operation, payload) = Messages.ReadCall(FrameIO.Read(buffer, int.MaxValue)!.Value.Data);
        buffer.SetLength(0);
        using var cts = new CancellationTokenSource();
        host.RunCallAsync(buffer, new Lock(), 1, operation, payload, int.MaxValue, cts.Token, static (_, _) => Task.FromResult(NoPayload)).GetAwaiter().GetResult();
        buffer.Position = 0;
        _ = Messages.ReadMemoryPrefixed(FrameIO.Read(buffer, int.MaxValue)!.Value.Data);
        var turn = new ReadTurn();
        turn.Release();
        turn.Wait();
        Task.Run(static () => { }).Wait();
    }

    /// <summary>
    /// The right to read, passed between the host's two threads. A plain monitor wait, no spinning: SemaphoreSlim spins
    /// (sched_yield) before it blocks, and on a small machine that spin takes the core the pool needs for the response.
    /// </summary>
    private sealed class ReadTurn
    {
        private readonly object _gate = new();
        private int _count;

        public void Release()
        {
            lock (_gate)
            {
                _count++;
                Monitor.Pulse(_gate);
            }
        }

        public void Wait()
        {
            lock (_gate)
            {
                while (_count == 0)
                {
                    Monitor.Wait(_gate);
                }

                _count--;
            }
        }
    }

    private static void Write(Stream output, Lock writeLock, FrameType type, long callId, byte[] prefix, byte[] data, int maxFrame)
    {
        lock (writeLock)
        {
            FrameIO.Write(output, type, callId, prefix, data, maxFrame);
        }
    }

    private sealed class UnknownOperationException(string message) : Exception(message);
}
