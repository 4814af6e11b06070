using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerHost
{
    private static readonly byte[] NoPayload = [];

    /// <summary>
    /// The worker's loop, on a dedicated thread with plain blocking reads: a worker process has nothing else to do,
    /// and a blocking read of a pipe wakes faster than the console stream's async emulation.
    /// </summary>
    internal Task<int> RunAsync(Stream input, Stream output, int maxFrame, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(input, output, maxFrame, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private int Run(Stream input, Stream output, int maxFrame, CancellationToken cancellationToken)
    {
        WarmUp();
        var writeLock = new Lock();
        Write(output, writeLock, FrameType.Hello, 0, Messages.Hello(Environment.ProcessId), NoPayload, maxFrame);

        // Stopping the host closes stdin, which ends the blocking read below.
        using var stop = cancellationToken.Register(static s => ((Stream)s!).Dispose(), input);
        CancellationTokenSource? current = null;
        long currentId = -1;
        try
        {
            while (true)
            {
                Frame? read;
                try
                {
                    read = FrameIO.Read(input, maxFrame);
                }
                catch (ProtocolViolationException ex)
                {
                    Console.Error.WriteLine($"ladder-worker: protocol error: {ex.Message}");
                    return ExitProtocolError;
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    return 0;
                }

                // End of stdin: the pool is gone (or closed us); never outlive it.
                if (read is not { } frame || frame.Type == FrameType.Shutdown)
                {
                    return 0;
                }

                switch (frame.Type)
                {
                    case FrameType.Call:
                        var (operation, payload) = Messages.ReadCall(frame.Data);
                        current?.Dispose();
                        current = new CancellationTokenSource();
                        currentId = frame.CallId;
                        var token = current.Token;
                        var callId = frame.CallId;
                        // On the thread pool: a handler that blocks synchronously must not stop cancel frames being read.
                        _ = Task.Run(() => RunCallAsync(output, writeLock, callId, operation, payload, maxFrame, token), CancellationToken.None);
                        break;
                    case FrameType.Cancel when frame.CallId == currentId:
                        current!.Cancel();
                        break;
                    case FrameType.Cancel:
                        break;
                    default:
                        Console.Error.WriteLine($"ladder-worker: protocol error: unexpected {frame.Type} frame");
                        return ExitProtocolError;
                }
            }
        }
        finally
        {
            current?.Dispose();
        }
    }

    private async Task RunCallAsync(Stream output, Lock writeLock, long callId, string operation, ReadOnlyMemory<byte> payload, int maxFrame, CancellationToken token)
    {
        FrameType type;
        byte[] data;
        try
        {
            if (!_handlers.TryGetValue(operation, out var handler))
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
            Console.Error.WriteLine($"ladder-worker: out of memory in '{operation}'");
            Environment.Exit(ExitOutOfMemory);
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
    /// Runs the host's own frame path once in memory before the handshake, so a fresh worker (the warm spare taking
    /// over after a kill) does not pay for JIT compilation on its first real call.
    /// </summary>
    private static void WarmUp()
    {
        using var buffer = new MemoryStream();
        FrameIO.Write(buffer, FrameType.Call, 1, Messages.CallPrefix("warm-up"), NoPayload, int.MaxValue);
        FrameIO.Write(buffer, FrameType.Result, 1, Messages.MemoryPrefix(0), NoPayload, int.MaxValue);
        buffer.Position = 0;
        _ = Messages.ReadCall(FrameIO.Read(buffer, int.MaxValue)!.Value.Data);
        _ = Messages.ReadMemoryPrefixed(FrameIO.Read(buffer, int.MaxValue)!.Value.Data);
        Task.Run(static () => { }).Wait();
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
