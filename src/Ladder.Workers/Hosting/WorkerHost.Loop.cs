using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerHost
{
    private static readonly byte[] NoPayload = [];

    internal async Task<int> RunAsync(Stream input, Stream output, int maxFrame, CancellationToken cancellationToken)
    {
        using var writeLock = new SemaphoreSlim(1, 1);
        await WriteAsync(output, writeLock, FrameType.Hello, 0, Messages.Hello(Environment.ProcessId), NoPayload, maxFrame).ConfigureAwait(false);

        CancellationTokenSource? current = null;
        long currentId = -1;
        try
        {
            while (true)
            {
                Frame? read;
                try
                {
                    read = await FrameIO.ReadAsync(input, maxFrame, cancellationToken).ConfigureAwait(false);
                }
                catch (ProtocolViolationException ex)
                {
                    await Console.Error.WriteLineAsync($"ladder-worker: protocol error: {ex.Message}").ConfigureAwait(false);
                    return ExitProtocolError;
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
                        // On the thread pool: a handler that blocks synchronously must not stop cancel frames being read.
                        _ = Task.Run(() => RunCallAsync(output, writeLock, frame.CallId, operation, payload, maxFrame, token), CancellationToken.None);
                        break;
                    case FrameType.Cancel when frame.CallId == currentId:
                        await current!.CancelAsync().ConfigureAwait(false);
                        break;
                    case FrameType.Cancel:
                        break;
                    default:
                        await Console.Error.WriteLineAsync($"ladder-worker: protocol error: unexpected {frame.Type} frame").ConfigureAwait(false);
                        return ExitProtocolError;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            current?.Dispose();
        }
    }

    private async Task RunCallAsync(Stream output, SemaphoreSlim writeLock, long callId, string operation, ReadOnlyMemory<byte> payload, int maxFrame, CancellationToken token)
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
            await Console.Error.WriteLineAsync($"ladder-worker: out of memory in '{operation}'").ConfigureAwait(false);
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

        var memory = Messages.MemoryPrefix(Environment.WorkingSet);
        try
        {
            await WriteAsync(output, writeLock, type, callId, memory, data, maxFrame).ConfigureAwait(false);
        }
        catch (ProtocolViolationException ex)
        {
            // The response is over the cap: say so instead of sending a frame the pool would have to reject.
            var error = Messages.Error(new RemoteError("Ladder.Workers.ResponseTooLarge", ex.Message, null));
            await WriteAsync(output, writeLock, FrameType.Error, callId, memory, error, maxFrame).ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync(Stream output, SemaphoreSlim writeLock, FrameType type, long callId, byte[] prefix, byte[] data, int maxFrame)
    {
        await writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await FrameIO.WriteAsync(output, type, callId, prefix, data, maxFrame, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            writeLock.Release();
        }
    }

    private sealed class UnknownOperationException(string message) : Exception(message);
}
