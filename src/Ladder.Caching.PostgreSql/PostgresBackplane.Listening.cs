using System.Globalization;
using Ladder.Caching.PostgreSql.Internal;
using Npgsql;

namespace Ladder.Caching;

/// <summary>The listener: one dedicated connection, LISTEN, a probe when it is quiet, reconnect with backoff, a catch-up after every (re)connect.</summary>
public sealed partial class PostgresBackplane
{
    private bool _schemaReady;
    private volatile bool _listening;

    // Never throws: every failure is logged and retried until the backplane stops.
    private async Task ListenLoopAsync(CancellationToken token)
    {
        var connectedBefore = false;
        for (var attempt = 0; !token.IsCancellationRequested;)
        {
            NpgsqlConnection? connection = null;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                if (!_schemaReady)
                {
                    await EnsureSchemaAsync(connection, token).ConfigureAwait(false);
                }

                await using (var command = new NpgsqlCommand($"SET application_name = '{_options.ListenerApplicationName.Replace("'", "''", StringComparison.Ordinal)}'; LISTEN \"{_sql.Channel}\"", connection))
                {
                    await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                connection.Notification += OnNotification;

                // Listening first, then the catch-up: a change committed in between is in the log or in a
                // notification (or both; applying twice is skipped by its sequence).
                SetListening(true);
                if (connectedBefore)
                {
                    _metrics.Reconnected();
                }

                RequestCatchUp(connectedBefore ? "reconnect" : "start");
                connectedBefore = true;
                attempt = 0;
                while (true)
                {
                    // Bounded: a connection that died silently is found by the probe (Probing), never waited on for ever.
                    await WaitOrProbeAsync(connection, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                attempt++;
                var delay = Backoff(attempt);

                // The backoff's timer exists before anyone can see the listener down (its flag, its log): a clock moved
                // on at that sign moves this wait too. Made after them, a test that advanced its fake clock as soon as it
                // saw the log could leave the timer on a clock nobody moved again.
                var backoff = Task.Delay(delay, _time, token);
                SetListening(false);
                if (ex is PostgresBackplaneSchemaException schema)
                {
                    Log.SchemaFailed(_logger, schema, _sql.QualifiedName, delay);
                }
                else
                {
                    Log.ListenerFailed(_logger, ex, delay, attempt);
                }

                try
                {
                    await backoff.ConfigureAwait(false);
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
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        SetListening(false);
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        // Payload: "seq:micros" or "seq:micros:{json}". Validated here; a bad one only triggers a read of the log.
        var payload = e.Payload;
        var first = payload.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : payload.IndexOf(':', first + 1);
        var end = second < 0 ? payload.Length : second;
        if (first <= 0
            || !long.TryParse(payload.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !long.TryParse(payload.AsSpan(first + 1, end - first - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
        {
            Log.Malformed(_logger, -1, "a notification payload that does not start with seq:micros");
            RequestCatchUp("gap");
            return;
        }

        LogRow? row = null;
        if (second > 0)
        {
            try
            {
                var (node, kind, changes) = ChangeCodec.ReadPayload(payload[(second + 1)..]);
                row = new LogRow(sequence, kind, node, micros, null, changes);
            }
            catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
            {
                Log.Malformed(_logger, sequence, "a notification payload whose changes cannot be read: " + ex.Message);
            }
        }

        OnAnnounced(sequence, row);
    }
}
