using Ladder.Jobs.PostgreSql.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>
/// Wake-ups across hosts: a NOTIFY (payload: the queue name) debounced per queue, and one dedicated listening
/// connection that reconnects with backoff. A NOTIFY is a hint; polling stays the backstop.
/// </summary>
public sealed partial class PostgresJobStore
{
    private readonly Lock _notifyLock = new();
    private readonly Dictionary<string, (long LastSent, bool Trailing)> _notified = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _notifyTasks = [];
    private Task? _listener;
    private TaskCompletionSource? _firstListen;

    /// <summary>Whether the listening connection is up (tests and diagnostics).</summary>
    internal bool IsListening { get; private set; }

    /// <summary>How many times the listener (re)connected (tests and diagnostics).</summary>
    internal int ListenerConnects { get; private set; }

    /// <summary>
    /// Which queues of an enqueue send their NOTIFY inside its transaction now, and which wait for the end of their
    /// debounce window (<see cref="NotifySoon"/> after the commit). NOTIFY serialises commits cluster-wide (a lock held
    /// through the commit's flush), so at most one per queue per window leaves this process.
    /// </summary>
    private (List<string> Now, List<string> Deferred) PlanNotifications(IReadOnlyList<Storage.NewJob> jobs)
    {
        var now = new List<string>();
        var deferred = new List<string>();
        if (!_options.UseListenNotify)
        {
            return (now, deferred);
        }

        var time = TimeProvider.System.GetTimestamp();
        lock (_notifyLock)
        {
            foreach (var job in jobs)
            {
                if (now.Contains(job.Queue) || deferred.Contains(job.Queue))
                {
                    continue;
                }

                if (_notified.TryGetValue(job.Queue, out var last) && (last.Trailing || TimeProvider.System.GetElapsedTime(last.LastSent, time) < _options.NotifyDebounce))
                {
                    deferred.Add(job.Queue);
                }
                else
                {
                    _notified[job.Queue] = (time, false);
                    now.Add(job.Queue);
                }
            }
        }

        return (now, deferred);
    }

    private NpgsqlBatchCommand NotifyCommand(List<string> queues)
    {
        var command = new NpgsqlBatchCommand("SELECT pg_notify(@channel, q) FROM unnest(@queues::text[]) AS q");
        command.Parameters.Add(P("channel", _sql.Channel, NpgsqlDbType.Text));
        command.Parameters.Add(P("queues", queues.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        return command;
    }

    /// <summary>Sends one NOTIFY for the queue at the end of its debounce window (at once if it has passed), unless one is already due.</summary>
    private void NotifySoon(string queue)
    {
        if (!_options.UseListenNotify || _closing.IsCancellationRequested)
        {
            return;
        }

        TimeSpan wait;
        lock (_notifyLock)
        {
            var last = _notified.TryGetValue(queue, out var l) ? l : (LastSent: 0L, Trailing: false);
            if (last.Trailing)
            {
                return;
            }

            wait = last.LastSent == 0 ? TimeSpan.Zero : _options.NotifyDebounce - TimeProvider.System.GetElapsedTime(last.LastSent);
            _notified[queue] = (last.LastSent, true);
            var task = SendTrailingAsync(queue, wait);
            if (!task.IsCompleted)
            {
                _notifyTasks.Add(task);
                _ = task.ContinueWith(
                    t =>
                    {
                        lock (_notifyLock)
                        {
                            _notifyTasks.Remove(t);
                        }
                    },
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    // Never throws: a lost NOTIFY only delays the jobs until the next poll.
    private async Task SendTrailingAsync(string queue, TimeSpan wait)
    {
        await Task.Yield();
        try
        {
            if (wait > TimeSpan.Zero)
            {
                // Real time: the window protects the server's commit lock, which a test's fake clock does not slow down.
                await Task.Delay(wait, TimeProvider.System, _closing.Token).ConfigureAwait(false);
            }

            lock (_notifyLock)
            {
                _notified[queue] = (TimeProvider.System.GetTimestamp(), false);
            }

            await using var command = _dataSource.CreateCommand("SELECT pg_notify(@channel, @queue)");
            command.Parameters.Add(P("channel", _sql.Channel, NpgsqlDbType.Text));
            command.Parameters.Add(P("queue", queue, NpgsqlDbType.Text));
            await command.ExecuteNonQueryAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            lock (_notifyLock)
            {
                if (_notified.TryGetValue(queue, out var last))
                {
                    _notified[queue] = (last.LastSent, false);
                }
            }

            Log.NotifyFailed(_logger, e, queue);
        }
    }

    private async Task StopNotifyingAsync()
    {
        Task[] pending;
        lock (_notifyLock)
        {
            pending = [.. _notifyTasks];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task StartListeningAsync(CancellationToken cancellationToken)
    {
        _firstListen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _listener = Task.Run(() => ListenLoopAsync(_closing.Token), CancellationToken.None);

        // Opening waits for the first LISTEN (bounded), so a job enqueued elsewhere right after the open wakes this
        // host; if the listener cannot connect, polling covers it and the loop keeps trying.
        try
        {
            await _firstListen.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private async Task StopListeningAsync()
    {
        if (_listener is not null)
        {
            await _listener.ConfigureAwait(false);
        }
    }

    // Never throws: every failure is logged and retried with backoff until the store closes.
    private async Task ListenLoopAsync(CancellationToken token)
    {
        for (var attempt = 0; !token.IsCancellationRequested;)
        {
            NpgsqlConnection? connection = null;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await using (var command = new NpgsqlCommand($"SET application_name = '{_options.ListenerApplicationName.Replace("'", "''", StringComparison.Ordinal)}'; LISTEN {_sql.Channel}", connection))
                {
                    await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                IsListening = true;
                ListenerConnects++;
                Log.Listening(_logger, _sql.Channel);

                // Listening first, then the wake-up: a job committed while no connection listened (before this
                // connect, or while it was down) is found by the claims this starts, never stranded until a poll.
                foreach (var queue in Context.Options.Queues.Keys)
                {
                    Context.JobsAvailable(queue);
                }

                // Then the open returns: a caller that subscribes to the wake-ups after it never sees the start's.
                _firstListen?.TrySetResult();

                attempt = 0;
                while (true)
                {
                    // Bounded: a connection that died silently is found by the probe, never waited on for ever.
                    if (!await connection.WaitAsync(_options.ListenerProbeInterval, token).ConfigureAwait(false))
                    {
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                IsListening = false;
                attempt++;
                var delay = TimeSpan.FromTicks(Math.Min(_options.ListenerMaxReconnectDelay.Ticks, TimeSpan.FromMilliseconds(100).Ticks << Math.Min(attempt - 1, 16)));
                Log.ListenerFailed(_logger, e, delay, attempt);
                try
                {
                    // Real time: the server comes back in real time, whatever the queue's clock says.
                    await Task.Delay(delay, TimeProvider.System, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            finally
            {
                if (connection is not null)
                {
                    connection.Notification -= OnNotification;
                    await LeaveSessionAsync(connection).ConfigureAwait(false);
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        IsListening = false;
    }

    // A connection that goes back to the pool healthy leaves the channel and the listener's name: a data source with No
    // Reset On Close (the store's own, or a user's) would otherwise hand out a session that still listens, whose
    // notifications nobody reads (a backend blocked on them holds up the server's notification queue). Best effort: a
    // broken connection is not pooled again.
    private static async Task LeaveSessionAsync(NpgsqlConnection connection)
    {
        if (connection.FullState != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), TimeProvider.System);
            await using var command = new NpgsqlCommand("UNLISTEN *; RESET application_name", connection);
            await command.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            // Broken meanwhile: disposed, never pooled.
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (string.IsNullOrEmpty(e.Payload))
        {
            Log.EmptyNotification(_logger, e.Channel);
            return;
        }

        // Our own NOTIFYs come back too: waking this process's processors once more is harmless (the queue already
        // woke them), and telling them apart would need a process id in the payload.
        Context.JobsAvailable(e.Payload);
    }
}
