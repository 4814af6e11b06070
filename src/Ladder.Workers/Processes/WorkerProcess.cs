using System.Diagnostics;
using System.Globalization;
using Ladder.Workers.Protocol;
using Microsoft.Extensions.Logging;

namespace Ladder.Workers.Processes;

/// <summary>
/// One child process and its private channel: stdin for frames in, stdout for frames out, stderr to the logger and
/// a tail. A single reader loop owns stdout; a fault (exit, broken pipe, protocol violation) is reported once.
/// </summary>
#pragma warning disable CA1001 // The write lock has no wait handle and is deliberately never disposed (a late cancel write must not hit it); the process is released by Release().
internal sealed partial class WorkerProcess
#pragma warning restore CA1001
{
    private const int HandshakePending = 0;
    private const int HandshakeAccepted = 1;
    private const int HandshakeAbandoned = 2;

    // Whole frames, length prefix included: no more than PIPE_BUF and the one-page buffer a pipe gets when the user's
    // pipe quota is spent.
    private const int SyncWriteLimit = 4096;

    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly Stream _stdout;
    // Never disposed: it has no wait handle, and a late cancel write must not hit a disposed lock.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly StderrTail _tail;
    private readonly WorkerPoolOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource<Exception> _fault = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _dead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exitHandled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _readerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _exited;
    private Task _stderrPump = Task.CompletedTask;
    private CallState? _current;
    private long _nextCallId;
    private int _handshake;
    private int _faulting;
    private int _groupKilledAtExit;
    private string? _violation;

    private WorkerProcess(Process process, WorkerPoolOptions options, ILogger logger, TimeProvider time)
    {
        _process = process;
        _options = options;
        _logger = logger;
        _time = time;
        Pid = process.Id;
        _stdin = process.StandardInput.BaseStream;
        _stdout = process.StandardOutput.BaseStream;
        _tail = new StderrTail(options.StderrTailLines);
        _exited = process.WaitForExitAsync();

        _ = _exited.ContinueWith(static (_, s) => ((WorkerProcess)s!).OnExited(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public int Pid { get; }

    /// <summary>Pool bookkeeping; read and written under the pool's lock.</summary>
    public WorkerState State { get; set; } = WorkerState.Starting;

    public int CallsServed { get; set; }

    public int RecycleLimit { get; set; } = int.MaxValue;

    public long WorkingSet { get; set; }

    /// <summary>Completes once, when the worker can no longer serve (exited, broke the protocol).</summary>
    public Task<Exception> Faulted => _fault.Task;

    public bool HasExited => _exited.IsCompleted;

    /// <summary>
    /// Completes as soon as the worker is known to be gone: its exit, the end of its stdout or a broken stdin, whichever
    /// comes first. <see cref="Faulted"/> follows once the exit details (code, stderr tail) are in.
    /// </summary>
    public Task Dead => _dead.Task;

    public bool IsDead => _dead.Task.IsCompleted;

    /// <summary>For tests: runs inside the fault path, between its two steps (publishing the fault, taking the current call).</summary>
    internal Action? FaultRaceProbe { get; set; }

    /// <summary>For tests: completes once the exit has been handled (the worker marked dead, its fault started or left to the handshake).</summary>
    internal Task ExitHandled => _exitHandled.Task;

    /// <summary>For tests: runs on the reader thread after a valid handshake was read, before it is accepted.</summary>
    internal Action? HandshakeReadProbe { get; set; }

    public string StderrTail => _tail.ToString();

    /// <summary>Starts the process (not yet ready: call <see cref="HandshakeAsync"/>).</summary>
    public static WorkerProcess Start(WorkerPoolOptions options, ILogger logger, TimeProvider time)
    {
        var process = new Process { StartInfo = CreateStartInfo(options) };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            process.Dispose();
            throw new WorkerStartException($"The worker '{options.WorkerPath}' could not be started: {ex.Message}", "", ex);
        }

        var worker = new WorkerProcess(process, options, logger, time);
        worker._stderrPump = Task.Run(worker.PumpStderrAsync);
        return worker;
    }

    /// <summary>Starts the reader thread and waits for the handshake it reads; the same thread then reads every response.</summary>
    /// <exception cref="WorkerStartException">No valid handshake in time; the process is gone.</exception>
    public Task HandshakeAsync()
    {
        var hello = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A dedicated thread blocked in read(2) wakes the moment a response lands, without an epoll hop.
        _ = Task.Factory.StartNew(() => ReadLoopAsync(hello), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        return ReadHelloAsync(hello.Task);
    }

    /// <summary>
    /// Sends a call; the returned state completes with the response frame or fails with the crash. The write may still
    /// be in progress when this returns (a large frame): the caller's deadline runs meanwhile, so a worker that stopped
    /// reading its stdin (frozen) cannot hold the call past it; the kill ends the write.
    /// </summary>
    public CallState StartCall(string operation, ReadOnlyMemory<byte> payload, byte[] operationPrefix)
    {
        var state = new CallState(Interlocked.Increment(ref _nextCallId), operation);

        // A full fence between publishing the call and reading the fault: the fault path publishes the fault before it
        // takes the current call, so one of the two sides always sees the other and the call cannot be missed by both.
        Interlocked.Exchange(ref _current, state);
        if (_fault.Task.IsCompleted)
        {
            state.Undelivered = true;
            state.Response.TrySetException(BuildFault(operation, _violation));
            return state;
        }

        if (IsDead)
        {
            // Known dead (exit seen, stdout ended, stdin broken): nothing is sent; the fault path fails the call.
            state.Undelivered = true;
            return state;
        }

        // A broken pipe means the worker died: the write marks the call undelivered (the worker never had it) and the
        // worker dead. The write never throws (TryWriteAsync logs what fails), so nothing needs to observe it.
        _ = TryWriteAsync(FrameType.Call, state.Id, operationPrefix, payload, state);
        return state;
    }

    /// <summary>Soft cancel of <paramref name="call"/>; from now on a Cancelled frame for it is a valid answer.</summary>
    public Task SendCancelAsync(CallState call)
    {
        call.CancelRequested = true;
        return TryWriteAsync(FrameType.Cancel, call.Id, default, default, null);
    }

    public Task SendShutdownAsync() => TryWriteAsync(FrameType.Shutdown, 0, default, default, null);

    /// <summary>
    /// A response the caller could not read (its body does not decode as the response type): a protocol error like a
    /// malformed frame. The worker is killed; the returned exception is for the caller.
    /// </summary>
    public async Task<WorkerProtocolException> ReportViolationAsync(string operation, string detail)
    {
        await FaultAsync(detail).ConfigureAwait(false);
        return new WorkerProtocolException(operation, Pid, detail, StderrTail);
    }

    /// <summary>Kills the process group and waits (bounded) for the exit. True when the exit was observed.</summary>
    public async Task<bool> KillAsync()
    {
        KillGroup();
        return await WaitForExitAsync(_options.KillWait).ConfigureAwait(false);
    }

    /// <summary>Asks the worker to exit, waits up to <paramref name="wait"/>, then kills it. True when the exit was observed.</summary>
    public async Task<bool> StopAsync(TimeSpan wait)
    {
        // Not awaited, and off the caller's thread (a small frame is written synchronously): a worker that stopped
        // reading stdin (frozen, its pipe full) would hold the write, and the bounded wait and the kill must not
        // wait for it; Dispose stops every worker from one loop.
        _ = Task.Run(SendShutdownAsync);
        if (await WaitForExitAsync(wait).ConfigureAwait(false))
        {
            KillGroup();
            return true;
        }

        return await KillAsync().ConfigureAwait(false);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan wait)
    {
        try
        {
            await _exited.WaitAsync(wait, _time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Release()
    {
        if (_exited.IsCompleted)
        {
            _process.Dispose();
        }
    }

    private void KillGroup()
    {
        // After the kill at the exit (OnExited) the group is empty and its id, the pid, is free: the kernel may give it
        // to a new process that leads its own group (another pool's worker, another user's shell job; pids wrap at
        // 32768 on a default Linux), and a later kill(-pgid) would kill that stranger instead. So no kill after that one.
        if (Volatile.Read(ref _groupKilledAtExit) != 0)
        {
            return;
        }

        ProcessTree.Kill(_process, Pid);
    }

    private Task TryWriteAsync(FrameType type, long callId, ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> data, CallState? call)
    {
        // The frame (a copy of the request) is built at once: once StartCall returns, the caller may reuse its buffer
        // (a call can time out and return while an earlier write still holds the lock).
        var frame = FrameIO.RentFrame(type, callId, prefix.Span, data.Span, int.MaxValue, out var length);

        // A small frame goes out with one plain write(2) on the caller's thread: it fits in the pipe's smallest buffer
        // (one page), and the worker's reader drains the pipe continuously, so the write does not block. An async write
        // would also turn stdin into a non-blocking descriptor registered with the socket engine, for good.
        if (length <= SyncWriteLimit && _writeLock.Wait(0))
        {
            WriteFrame(type, frame, length, call);
            return Task.CompletedTask;
        }

        return WriteFrameAsync(type, frame, length, call);
    }

    private async Task WriteFrameAsync(FrameType type, byte[] frame, int length, CallState? call)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _stdin.WriteAsync(frame.AsMemory(0, length)).ConfigureAwait(false);
            await _stdin.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Log.WriteFailed(_logger, Pid, type.ToString(), ex.Message);
            InputBroken(call);
        }
        finally
        {
            Written(frame);
        }
    }

    /// <summary>Writes a rented frame under the write lock (held by the caller).</summary>
    private void WriteFrame(FrameType type, byte[] frame, int length, CallState? call)
    {
        try
        {
            _stdin.Write(frame, 0, length);
            _stdin.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Log.WriteFailed(_logger, Pid, type.ToString(), ex.Message);
            InputBroken(call);
        }
        finally
        {
            Written(frame);
        }
    }

    /// <summary>
    /// Nobody reads the worker's stdin any more: it is dead (or unusable), and a call whose frame did not go through
    /// never reached its handler, so the pool may give it to another worker.
    /// </summary>
    private void InputBroken(CallState? call)
    {
        if (call is not null)
        {
            call.Undelivered = true;
        }

        _dead.TrySetResult();
        if (!HasExited)
        {
            // A worker that cannot be written to is no longer a worker: end it, so its exit is reported like any other.
            KillGroup();
        }
    }

    private void Written(byte[] frame)
    {
        _writeLock.Release();
        FrameIO.ReturnFrame(frame);
    }

    internal static ProcessStartInfo CreateStartInfo(WorkerPoolOptions options)
    {
        var path = options.WorkerPath!;
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? Environment.CurrentDirectory,
        };

        var command = new List<string>();
        if (path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            command.Add(DotnetHost.Path);
        }

        command.Add(path);
        command.AddRange(options.Arguments);
        if (ProcessTree.SetsidPath is { } setsid)
        {
            // setsid execs in place (same pid) and makes the worker the leader of a new session and process group.
            command.Insert(0, setsid);
        }

        info.FileName = command[0];
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[WorkerHost.MaxFrameVariable] = options.MaxFrameBytes.ToString(CultureInfo.InvariantCulture);
        if (options.RecycleAboveWorkingSetBytes is not null)
        {
            info.Environment[WorkerHost.ReportMemoryVariable] = "1";
        }

        if (options.HeapHardLimitBytes is { } limit)
        {
            info.Environment["DOTNET_GCHeapHardLimit"] = limit.ToString("X", CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        return info;
    }
}
