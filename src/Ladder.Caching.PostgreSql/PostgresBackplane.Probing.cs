using Ladder.Caching.PostgreSql.Internal;
using Npgsql;

namespace Ladder.Caching;

/// <summary>
/// The listener's probe: a connection that dies silently (no reset reaches the client: a partition, a NAT that
/// dropped the flow, a frozen server) delivers nothing and fails nothing, so a wait without a bound would wait for
/// ever and the node would serve what it cached. After <see cref="PostgresBackplaneOptions.ListenerProbeInterval"/>
/// without a notification, one bounded round trip tells a live connection from a dead one.
/// </summary>
public sealed partial class PostgresBackplane
{
    // Returns when a notification arrived or a probe succeeded; throws (into the reconnect path) when the probe fails.
    private async Task WaitOrProbeAsync(NpgsqlConnection connection, CancellationToken token)
    {
        var interval = _options.ListenerProbeInterval;
        if (interval == Timeout.InfiniteTimeSpan)
        {
            await connection.WaitAsync(token).ConfigureAwait(false);
            return;
        }

        using (var quiet = new CancellationTokenSource(interval, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(token, quiet.Token))
        {
            try
            {
                await connection.WaitAsync(linked.Token).ConfigureAwait(false);
                return; // a notification arrived: the connection is alive
            }
            catch (OperationCanceledException) when (quiet.IsCancellationRequested && !token.IsCancellationRequested)
            {
                // Quiet for a whole interval: probe below.
            }
        }

        await ProbeAsync(connection, token).ConfigureAwait(false);
    }

    private async Task ProbeAsync(NpgsqlConnection connection, CancellationToken token)
    {
        var timeout = _options.ListenerProbeTimeout;
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, deadline.Token);
        long max;
        try
        {
            await using var command = new NpgsqlCommand(_sql.Probe, connection);
            max = (long)(await command.ExecuteScalarAsync(linked.Token).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            // Failed or unanswered: the connection is dropped (the listener's finally disposes it) and the usual
            // reconnect and catch-up follow, so whatever was published meanwhile is read from the log.
            _metrics.ProbeFailed();
            Log.ProbeFailed(_logger, ex, _options.ListenerProbeInterval, timeout);
            throw new TimeoutException($"The listener connection did not answer a probe within {timeout}.", ex);
        }

        // Alive, but a notification may still have been lost on the way (or dropped by a proxy): the log says what
        // was committed. A hole or a row whose NOTIFY is in flight also lands here; a catch-up then is only redundant.
        var position = Position;
        if (position >= 0 && max > position)
        {
            Log.ProbeFoundRows(_logger, max, position);
            RequestCatchUp("probe");
        }
    }
}
