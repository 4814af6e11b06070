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

        if (problem == "")
        {
            HandshakeReadProbe?.Invoke();
        }

        // Decided before the handshake side hears of it: a start that timed out (and is being killed) never gets a loop.
        var accepted = problem == "" && Interlocked.CompareExchange(ref _handshake, HandshakeAccepted, HandshakePending) == HandshakePending;
        hello.TrySetResult(problem);
        if (!accepted)
        {
            return;
        }

        if (_exited.IsCompleted)
        {
            // The worker exited between sending its handshake and this acceptance: the exit's own check (OnExited runs
            // after the exit is complete) found it still starting and left the fault to the handshake. A grandchild may
            // hold stdout open, so the loop below might never end: report the exit as the exit would have.
            _ = FaultAfterExitAsync();
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

                // Checked here, where the frame enters: the caller only ever sees a response it can read.
                Validate(frame, current);
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

        // Known dead from now on: the pool stops dispatching to it before the exit details are in.
        _dead.TrySetResult();
        _readerEnded.TrySetResult();
        await FaultAsync(violation).ConfigureAwait(false);
    }

    /// <summary>A response frame must carry its memory prefix; an error must describe its exception; a Cancelled frame must answer a cancel.</summary>
    private static void Validate(Frame frame, CallState call)
    {
        if (frame.Data.Length < Messages.MemoryPrefixSize)
        {
            throw new ProtocolViolationException(
                $"a {frame.Type} frame with {frame.Data.Length} data bytes, shorter than its {Messages.MemoryPrefixSize}-byte prefix");
        }

        if (frame.Type == FrameType.Cancelled && !call.CancelRequested)
        {
            throw new ProtocolViolationException($"a Cancelled frame for call {frame.CallId}, which was not cancelled");
        }

        if (frame.Type == FrameType.Error)
        {
            var error = Messages.ReadError(frame.Data.AsMemory(Messages.MemoryPrefixSize));
            if (string.IsNullOrEmpty(error.Type) || error.Message is null)
            {
                throw new ProtocolViolationException("the error frame names no exception type or message");
            }
        }
    }

    /// <summary>
    /// The process exited. Usually the reader sees the end of stdout at once and reports the fault; but a grandchild
    /// that left the process group can hold stdout open for ever, so the exit alone must be enough: the worker is dead
    /// now, and its fault is reported after a short wait for the reader's last frames.
    /// </summary>
    private void OnExited()
    {
        // The leader is gone: take the rest of its group too, or an orphaned grandchild would keep the pipes open. This
        // is the group's last kill (see KillGroup): the exit was seen, so its id may be reused from now on.
        KillGroup();
        Volatile.Write(ref _groupKilledAtExit, 1);
        _dead.TrySetResult();
        _ = FaultAfterExitAsync();
        _exitHandled.TrySetResult();
    }

    private async Task FaultAfterExitAsync()
    {
        if (Volatile.Read(ref _handshake) != HandshakeAccepted)
        {
            // Still starting: the handshake reports an exit before it.
            return;
        }

        try
        {
            await _readerEnded.Task.WaitAsync(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // stdout is held open by someone else: report the fault without the reader.
            await FaultAsync(null).ConfigureAwait(false);
        }
    }

    private async Task FaultAsync(string? violation)
    {
        if (Interlocked.Exchange(ref _faulting, 1) != 0)
        {
            // Reported once: by the reader (end of stdout, violation), the exit, or the caller (undecodable response).
            return;
        }

        _violation = violation;
        _dead.TrySetResult();
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

        // The fault is published before the current call is taken (StartCall does the reverse): a call started in
        // between is failed by one side or the other, never left waiting for its whole deadline.
        _fault.TrySetResult(BuildFault(null, violation));
        FaultRaceProbe?.Invoke();
        var current = Interlocked.Exchange(ref _current, null);
        current?.Response.TrySetException(BuildFault(current.Operation, violation));
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

    private void OnStderrLine(string line)
    {
        _tail.Add(line);
        Log.WorkerStderr(_logger, Pid, line);
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

    /// <summary>
    /// stderr in bounded chunks, split into lines of at most <see cref="Processes.StderrTail.MaxLineLength"/> characters:
    /// a handler that writes without newlines costs one chunk and one line of memory, and logs one cut line.
    /// </summary>
    private async Task PumpStderrAsync()
    {
        try
        {
            var reader = _process.StandardError;
            var lines = new StderrLineSplitter(Processes.StderrTail.MaxLineLength);
            var chunk = new char[4096];
            int read;
            while ((read = await reader.ReadAsync(chunk.AsMemory()).ConfigureAwait(false)) > 0)
            {
                lines.Feed(chunk.AsSpan(0, read), OnStderrLine);
            }

            lines.Flush(OnStderrLine);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process is gone.
        }
    }
}
