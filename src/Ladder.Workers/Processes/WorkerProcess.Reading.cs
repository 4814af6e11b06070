using Ladder.Workers.Protocol;

namespace Ladder.Workers.Processes;

internal sealed partial class WorkerProcess
{
    private async Task ReadHelloAsync(Task<string?> hello)
    {
        using var timeoutCts = new CancellationTokenSource();
        var timeout = Task.Delay(_options.StartupTimeout, _time, timeoutCts.Token);
        if (await Task.WhenAny(hello, timeout).ConfigureAwait(false) == timeout
            && Interlocked.CompareExchange(ref _handshake, HandshakeAbandoned, HandshakePending) == HandshakePending)
        {
            await KillAsync().ConfigureAwait(false);
            Release();
            throw new WorkerStartException(
                $"Worker {Pid} did not send its handshake within {_options.StartupTimeout.TotalMilliseconds:0} ms; it was killed.", StderrTail);
        }

        await timeoutCts.CancelAsync().ConfigureAwait(false);
        var problem = await hello.ConfigureAwait(false);
        if (problem == "")
        {
            return;
        }

        if (problem is null)
        {
            // End of stdout before the handshake: the worker exited at start.
            var exited = await WaitForExitAsync(_options.KillWait).ConfigureAwait(false);
            await DrainStderrAsync().ConfigureAwait(false);
            var code = exited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
            Release();
            throw new WorkerStartException($"Worker {Pid} exited with code {code} before its handshake.", StderrTail);
        }

        await KillAsync().ConfigureAwait(false);
        Release();
        throw new WorkerStartException($"Worker {Pid} {problem}; it was killed.", StderrTail);
    }

    /// <summary>
    /// The reader thread: the handshake, then every response. stdout is only ever read synchronously, so its pipe stays
    /// a blocking descriptor and read(2) wakes this thread directly: one async read (even the handshake's) would make
    /// the descriptor non-blocking for good and route every later read through the socket engine's epoll thread, an
    /// extra thread hop on every call.
    /// </summary>
    private async Task ReadLoopAsync(TaskCompletionSource<string?> hello)
    {
        // "" = a valid handshake, null = end of stdout before it, otherwise what was wrong with it.
        string? problem;
        try
        {
            problem = FrameIO.Read(_stdout, _options.MaxFrameBytes) switch
            {
                null => null,
                { Type: not FrameType.Hello } f => $"sent a {f.Type} frame instead of its handshake",
                { } f when Messages.ReadHello(f.Data).Version is var version && version != FrameIO.ProtocolVersion =>
                    $"speaks protocol version {version}, the pool speaks {FrameIO.ProtocolVersion}",
                _ => "",
            };
        }
        catch (ProtocolViolationException ex)
        {
            problem = $"sent a malformed handshake ({ex.Message})";
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            problem = $"closed its output ({ex.Message})";
        }

        // Decided before the handshake side hears of it: a start that timed out (and is being killed) never gets a loop.
        var accepted = problem == "" && Interlocked.CompareExchange(ref _handshake, HandshakeAccepted, HandshakePending) == HandshakePending;
        hello.TrySetResult(problem);
        if (!accepted)
        {
            return;
        }

        string? violation = null;
        try
        {
            while (FrameIO.Read(_stdout, _options.MaxFrameBytes) is { } frame)
            {
                if (frame.Type is not (FrameType.Result or FrameType.Error or FrameType.Cancelled))
                {
                    throw new ProtocolViolationException($"unexpected {frame.Type} frame");
                }

                var current = Volatile.Read(ref _current);
                if (current is null || current.Id != frame.CallId)
                {
                    throw new ProtocolViolationException($"a response for call {frame.CallId}, which is not running");
                }

                Interlocked.CompareExchange(ref _current, null, current);
                current.Response.TrySetResult(frame);
            }
        }
        catch (ProtocolViolationException ex)
        {
            violation = ex.Message;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe broke: the worker is gone; the exit details follow.
        }

        await FaultAsync(violation).ConfigureAwait(false);
    }

    private async Task FaultAsync(string? violation)
    {
        if (violation is not null)
        {
            // Whatever the worker sends next can't be trusted: kill it before reporting.
            await KillAsync().ConfigureAwait(false);
        }
        else if (!await WaitForExitAsync(_options.KillWait).ConfigureAwait(false))
        {
            // stdout closed but the process lives on: it is no longer a worker.
            await KillAsync().ConfigureAwait(false);
        }

        await DrainStderrAsync().ConfigureAwait(false);
        var current = Interlocked.Exchange(ref _current, null);
        var error = BuildFault(current?.Operation, violation);
        _fault.TrySetResult(current is null ? error : BuildFault(null, violation));
        current?.Response.TrySetException(error);
    }

    private Exception BuildFault(string? operation, string? violation)
    {
        var tail = StderrTail;
        if (violation is not null)
        {
            return new WorkerProtocolException(operation, Pid, violation, tail);
        }

        int? code = _exited.IsCompleted ? _process.ExitCode : null;
        var (reason, signal) = code switch
        {
            WorkerHost.ExitOutOfMemory => (WorkerExitReason.OutOfMemory, (int?)null),
            WorkerHost.ExitProtocolError => (WorkerExitReason.ProtocolError, null),
            > 128 and < 160 when !OperatingSystem.IsWindows() => (WorkerExitReason.Signal, code - 128),
            _ => (WorkerExitReason.Exited, null),
        };
        return new WorkerCrashedException(operation, Pid, code, signal, reason, tail) { };
    }

    /// <summary>Lets stderr deliver its last lines (a FailFast message comes just before the exit), bounded.</summary>
    private async Task DrainStderrAsync()
    {
        try
        {
            await _stderrPump.WaitAsync(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A grandchild may hold stderr open; the tail so far is enough.
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            var reader = _process.StandardError;
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                _tail.Add(line);
                Log.WorkerStderr(_logger, Pid, line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process is gone.
        }
    }
}
