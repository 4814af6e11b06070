using System.Diagnostics;
using System.Text.Json;
using Ladder.Workers.Processes;
using Ladder.Workers.Protocol;

namespace Ladder.Workers;

public sealed partial class WorkerPool
{
    /// <summary>Runs <paramref name="operation"/> in a worker with a typed request and response (System.Text.Json).</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="operation">The operation name mapped in the worker.</param>
    /// <param name="request">The request.</param>
    /// <param name="options">Deadline and timeout policy for this call. Default: the pool's.</param>
    /// <param name="cancellationToken">Cancels the call: the worker is cancelled softly, then killed after the grace.</param>
    /// <returns>The result: the response, or (on timeout with <see cref="WorkerTimeoutBehavior.ReturnResult"/>) a result that says it timed out.</returns>
    /// <exception cref="WorkerTimeoutException">The deadline passed and the policy is <see cref="WorkerTimeoutBehavior.Throw"/>.</exception>
    /// <exception cref="WorkerCrashedException">The worker died during the call.</exception>
    /// <exception cref="WorkerRemoteException">The handler threw.</exception>
    /// <exception cref="WorkerProtocolException">The worker broke the protocol and was killed.</exception>
    /// <exception cref="WorkerPoolFullException">The queue is full and the pool fails fast.</exception>
    /// <exception cref="WorkerPoolUnavailableException">No worker can be started (breaker open), or the pool was disposed during the call.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled (the exception carries the caller's token).</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Task<WorkerResult<TResponse>> InvokeAsync<TRequest, TResponse>(
        string operation, TRequest request, WorkerCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(request, _json);
        return InvokeCoreAsync(operation, payload, Decode<TResponse>, null, options, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> in a worker; if it times out (after any retry), runs <paramref name="fallback"/>
    /// on the thread pool, bounded by <see cref="WorkerPoolOptions.FallbackConcurrency"/>, and returns its value.
    /// </summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="operation">The operation name mapped in the worker.</param>
    /// <param name="request">The request.</param>
    /// <param name="fallback">Computes a response when the worker could not in time (never on the caller's thread).</param>
    /// <param name="options">Deadline and retry for this call. Default: the pool's.</param>
    /// <param name="cancellationToken">Cancels the call and the fallback.</param>
    /// <returns>The result; <see cref="WorkerResult{T}.UsedFallback"/> says where the value came from.</returns>
    /// <exception cref="WorkerCrashedException">The worker died during the call.</exception>
    /// <exception cref="WorkerRemoteException">The handler threw.</exception>
    /// <exception cref="WorkerProtocolException">The worker broke the protocol and was killed.</exception>
    /// <exception cref="WorkerPoolFullException">The queue is full and the pool fails fast.</exception>
    /// <exception cref="WorkerPoolUnavailableException">No worker can be started, or the pool was disposed during the call.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Task<WorkerResult<TResponse>> InvokeWithFallbackAsync<TRequest, TResponse>(
        string operation, TRequest request, Func<TRequest, CancellationToken, Task<TResponse>> fallback, WorkerCallOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        var payload = JsonSerializer.SerializeToUtf8Bytes(request, _json);
        return InvokeCoreAsync(operation, payload, Decode<TResponse>, ct => fallback(request, ct), options, cancellationToken);
    }

    /// <summary>Runs a bytes operation (<see cref="WorkerHost.MapBytes"/>): the payload crosses the pipe as-is.</summary>
    /// <param name="operation">The operation name mapped in the worker.</param>
    /// <param name="request">The request bytes.</param>
    /// <param name="options">Deadline and timeout policy for this call. Default: the pool's.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The result with the response bytes.</returns>
    /// <exception cref="WorkerTimeoutException">The deadline passed and the policy is <see cref="WorkerTimeoutBehavior.Throw"/>.</exception>
    /// <exception cref="WorkerCrashedException">The worker died during the call.</exception>
    /// <exception cref="WorkerRemoteException">The handler threw.</exception>
    /// <exception cref="WorkerProtocolException">The worker broke the protocol and was killed.</exception>
    /// <exception cref="WorkerPoolFullException">The queue is full and the pool fails fast.</exception>
    /// <exception cref="WorkerPoolUnavailableException">No worker can be started, or the pool was disposed during the call.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Task<WorkerResult<byte[]>> InvokeBytesAsync(
        string operation, ReadOnlyMemory<byte> request, WorkerCallOptions? options = null, CancellationToken cancellationToken = default) =>
        InvokeCoreAsync(operation, request, static bytes => bytes.ToArray(), null, options, cancellationToken);

    private TResponse Decode<TResponse>(ReadOnlyMemory<byte> bytes) => JsonSerializer.Deserialize<TResponse>(bytes.Span, _json)!;

    private async Task<WorkerResult<T>> InvokeCoreAsync<T>(
        string operation, ReadOnlyMemory<byte> payload, Func<ReadOnlyMemory<byte>, T> decode, Func<CancellationToken, Task<T>>? fallback,
        WorkerCallOptions? options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(operation);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var prefix = Messages.CallPrefix(operation);
        var size = FrameIO.BodyHeaderSize + prefix.Length + payload.Length;
        if (size > _options.MaxFrameBytes)
        {
            throw new ArgumentException($"The request for '{operation}' makes a frame of {size} bytes, over MaxFrameBytes ({_options.MaxFrameBytes}).", nameof(payload));
        }

        var deadline = options?.Deadline ?? _options.DefaultDeadline;
        if (deadline != Timeout.InfiniteTimeSpan && (deadline <= TimeSpan.Zero || deadline > WorkerCallOptions.MaxDeadline))
        {
            // Checked before anything is sent: a timer cannot hold more than ~49.7 days, and a deadline that fails after
            // the call went out would strand its worker.
            throw new ArgumentOutOfRangeException(
                nameof(options), deadline, $"Deadline must be between 1 ms and {WorkerCallOptions.MaxDeadline.TotalDays:0} days, or Timeout.InfiniteTimeSpan for none.");
        }

        var maxQueueWait = options?.MaxQueueWait ?? _options.MaxQueueWait;
        if (maxQueueWait != Timeout.InfiniteTimeSpan && (maxQueueWait <= TimeSpan.Zero || maxQueueWait > WorkerCallOptions.MaxDeadline))
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), maxQueueWait, $"MaxQueueWait must be between 1 ms and {WorkerCallOptions.MaxDeadline.TotalDays:0} days, or Timeout.InfiniteTimeSpan for none.");
        }

        var retry = options?.RetryOnTimeout ?? _options.RetryOnTimeout;
        var behavior = options?.TimeoutBehavior ?? _options.TimeoutBehavior;

        var admitStarted = _time.GetTimestamp();
        await WithinQueueWaitAsync(operation, maxQueueWait, maxQueueWait, static async (pool, operation, token) =>
        {
            await pool.AdmitAsync(operation, token).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        var admitWait = _time.GetElapsedTime(admitStarted);

        // From here on one try/finally owns the admission slot, and each attempt owns its worker until it hands it
        // over: nothing that throws (a listener of the activity or a meter, a bug) can leak either.
        Interlocked.Increment(ref _inFlight);
        Activity? activity = null;
        var started = _time.GetTimestamp();
        var outcome = "error";
        try
        {
            activity = WorkersTelemetry.ActivitySource.StartActivity("ladder.workers.invoke", ActivityKind.Internal);
            activity?.SetTag("ladder.workers.operation", operation);
            // The time waited for admission (a full queue) is queue wait too.
            var queueWait = admitWait;
            var redispatches = 0;
            for (var attempt = 1; ; attempt++)
            {
                var waitStarted = _time.GetTimestamp();
                var left = maxQueueWait == Timeout.InfiniteTimeSpan ? maxQueueWait : maxQueueWait - queueWait;
                var worker = await WithinQueueWaitAsync(
                    operation, maxQueueWait, left, static (pool, operation, token) => new ValueTask<WorkerProcess>(pool.AcquireAsync(operation, token)), cancellationToken).ConfigureAwait(false);
                var waited = _time.GetElapsedTime(waitStarted);
                queueWait += waited;
                try
                {
                    WorkersTelemetry.QueueWait.Record(waited.TotalSeconds);
                    activity?.SetTag("ladder.workers.pid", worker.Pid);
                }
                catch
                {
                    // The worker has no call yet: it goes back as it came.
                    GiveBack(worker);
                    throw;
                }

                // A worker found dead as the call was written never ran it: the call goes to another worker, not
                // counted as an attempt (bounded, so workers that die at once cannot keep a call going round).
                var mayRedispatch = redispatches < _options.WorkerCount + 1;
                var (frame, run, undelivered) = await RunAttemptAsync(worker, operation, prefix, payload, deadline, attempt, mayRedispatch, cancellationToken).ConfigureAwait(false);
                if (undelivered)
                {
                    redispatches++;
                    attempt--;
                    continue;
                }

                if (frame is { } response)
                {
                    // The reader validated the frame (prefix, error JSON): these reads cannot fail.
                    var (_, body) = Messages.ReadMemoryPrefixed(response.Data);
                    if (response.Type == FrameType.Error)
                    {
                        AfterCall(worker, response);
                        WorkersTelemetry.RunDuration.Record(run.TotalSeconds);
                        var remote = Messages.ReadError(body);
                        Interlocked.Increment(ref _remoteErrors);
                        outcome = "remote_error";
                        throw new WorkerRemoteException(operation, worker.Pid, remote.Type, remote.Message, remote.StackTrace);
                    }

                    // Decoded before the worker goes back: a body that cannot be read is a protocol error, and its
                    // worker must not have been handed to another call meanwhile.
                    T value;
                    try
                    {
                        value = decode(body);
                    }
#pragma warning disable CA1031 // Not swallowed: whatever the decoder throws becomes the caller's protocol error.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        var error = await worker.ReportViolationAsync(operation, $"the response could not be read as {typeof(T).Name}: {ex.Message}").ConfigureAwait(false);
                        OnWorkerFaulted(worker, error);
                        outcome = "error";
                        throw error;
                    }

                    AfterCall(worker, response);
                    WorkersTelemetry.RunDuration.Record(run.TotalSeconds);
                    Interlocked.Increment(ref _succeeded);
                    outcome = "ok";
                    return new WorkerResult<T>(operation, value, true, attempt > 1, false, attempt, worker.Pid, deadline, queueWait, run, _time.GetElapsedTime(started));
                }

                // Timed out: the worker is quarantined already.
                WorkersTelemetry.RunDuration.Record(run.TotalSeconds);
                if (retry && attempt == 1)
                {
                    continue;
                }

                outcome = "timeout";
                activity?.SetTag("ladder.workers.timed_out", true);
                if (fallback is not null)
                {
                    var value = await RunFallbackAsync(operation, fallback, cancellationToken).ConfigureAwait(false);
                    outcome = "fallback";
                    return new WorkerResult<T>(operation, value, true, true, true, attempt, worker.Pid, deadline, queueWait, run, _time.GetElapsedTime(started));
                }

                if (behavior == WorkerTimeoutBehavior.Throw)
                {
                    throw new WorkerTimeoutException(operation, deadline, worker.Pid, attempt);
                }

                return new WorkerResult<T>(operation, default, false, true, false, attempt, worker.Pid, deadline, queueWait, run, _time.GetElapsedTime(started));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = "cancelled";
            Interlocked.Increment(ref _cancelled);
            throw;
        }
        catch (WorkerQueueTimeoutException)
        {
            outcome = "queue_timeout";
            throw;
        }
        finally
        {
            // The slot first: telemetry below may throw (a listener), the slot must come back regardless.
            Interlocked.Increment(ref _calls);
            _admission.Release();
            if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _disposed) != 0)
            {
                _drained.TrySetResult();
            }

            try
            {
                WorkersTelemetry.Calls.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
            }
            finally
            {
                activity?.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs a wait for a worker (admission, acquisition) bounded by what is left of the call's queue-wait bound
    /// (a timer through the TimeProvider); the bound passing is a <see cref="WorkerQueueTimeoutException"/>, the
    /// caller's cancel stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    private async ValueTask<TResult> WithinQueueWaitAsync<TResult>(
        string operation, TimeSpan maxQueueWait, TimeSpan left, Func<WorkerPool, string, CancellationToken, ValueTask<TResult>> wait, CancellationToken cancellationToken)
    {
        if (left == Timeout.InfiniteTimeSpan)
        {
            return await wait(this, operation, cancellationToken).ConfigureAwait(false);
        }

        using var bound = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        try
        {
            return await wait(this, operation, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new WorkerQueueTimeoutException(operation, maxQueueWait, _lastStartError);
        }
    }

    private async ValueTask AdmitAsync(string operation, CancellationToken cancellationToken)
    {
        if (_options.QueueFullMode == WorkerQueueFullMode.FailFast)
        {
            if (!_admission.Wait(0, CancellationToken.None))
            {
                throw new WorkerPoolFullException(_options.QueueCapacity) { Operation = operation };
            }

            return;
        }

        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> RunFallbackAsync<T>(string operation, Func<CancellationToken, Task<T>> fallback, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fallbacks);
        Log.RunningFallback(_logger, operation);
        await _fallbackGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // On the thread pool, never inline on the caller's thread: the fallback may be slow, synchronous work.
            return await Task.Run(() => fallback(cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _fallbackGate.Release();
        }
    }
}
