using System.Net;
using System.Net.Sockets;

namespace Ladder.PostgreSql.Testing;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of one server (PostgreSQL, Redis), for one client only, so that client can be
/// cut off while others keep their direct connections. Three ways to fail it:
/// <see cref="Silence"/> makes the connections it carries go silent (bytes read and dropped both ways, neither side
/// closed: a flow a NAT dropped, a partitioned server); <see cref="Block"/> refuses new connections (accepted, then
/// closed at once) until <see cref="Restore"/>; <see cref="Cut"/> blocks and also closes every connection it carries.
/// </summary>
public sealed class LoopbackRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly Lock _gate = new();
    private readonly List<Pair> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private volatile bool _blocked;
    private int _refused;
    private int _accepted;

    /// <summary>Starts relaying to <paramref name="upstreamPort"/> on loopback.</summary>
    public LoopbackRelay(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections refused while blocked (the client's reconnect attempts).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Connections relayed so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections relayed now.</summary>
    public int Live
    {
        get
        {
            lock (_gate)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>Silences every connection relayed now (later ones are relayed normally); returns how many.</summary>
    public int Silence()
    {
        lock (_gate)
        {
            foreach (var pair in _pairs)
            {
                pair.Silent = true;
            }

            return _pairs.Count;
        }
    }

    /// <summary>Refuses new connections until <see cref="Restore"/>; the relayed ones stay.</summary>
    public void Block() => _blocked = true;

    /// <summary>Closes every relayed connection and refuses new ones until <see cref="Restore"/>. Returns how many it closed.</summary>
    public int Cut()
    {
        _blocked = true;
        List<Pair> pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var pair in pairs)
        {
            pair.Dispose();
        }

        return pairs.Count;
    }

    /// <summary>Accepts new connections again.</summary>
    public void Restore() => _blocked = false;

    /// <summary>Stops listening and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        Cut();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_blocked)
            {
                Interlocked.Increment(ref _refused);
                client.Dispose();
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }

        var pair = new Pair(client, server);
        lock (_gate)
        {
            if (_blocked)
            {
                pair.Dispose();
                Interlocked.Increment(ref _refused);
                return;
            }

            _pairs.Add(pair);
        }

        Interlocked.Increment(ref _accepted);
        try
        {
            await Task.WhenAny(PumpAsync(pair, client, server), PumpAsync(pair, server, client)).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _pairs.Remove(pair);
            }

            pair.Dispose();
        }
    }

    private async Task PumpAsync(Pair pair, TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            while (true)
            {
                var read = await source.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                if (!pair.Silent)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // One side went away, or the relay was cut or stopped: the pair is closed by the caller.
        }
    }

    private sealed class Pair(TcpClient client, TcpClient server) : IDisposable
    {
        private volatile bool _silent;

        public bool Silent
        {
            get => _silent;
            set => _silent = value;
        }

        public void Dispose()
        {
            client.Dispose();
            server.Dispose();
        }
    }
}
