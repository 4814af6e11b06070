using System.Net;
using System.Net.Sockets;

namespace Ladder.Caching.PostgreSql.Tests.Support;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of the test server. <see cref="Silence"/> makes every connection it carries
/// at that moment go silent: bytes in both directions are read and dropped, and neither side is closed, so to the
/// client it is a flow that a NAT dropped or a partitioned server (no reset, no FIN, no answer). Connections made
/// afterwards are relayed normally.
/// </summary>
internal sealed class SilentRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly Lock _gate = new();
    private readonly List<Pair> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;

    public SilentRelay(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections relayed so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Silences every connection relayed now; returns how many.</summary>
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_gate)
        {
            foreach (var pair in _pairs)
            {
                pair.Client.Dispose();
                pair.Server.Dispose();
            }

            _pairs.Clear();
        }

        await _acceptLoop;
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
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
            await server.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
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
            _pairs.Add(pair);
        }

        Interlocked.Increment(ref _accepted);
        try
        {
            await Task.WhenAny(PumpAsync(pair, client, server), PumpAsync(pair, server, client));
        }
        finally
        {
            lock (_gate)
            {
                _pairs.Remove(pair);
            }

            client.Dispose();
            server.Dispose();
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
                var read = await source.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (!pair.Silent)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // One side went away or the relay stopped: the pair is closed by the caller.
        }
    }

    private sealed class Pair(TcpClient client, TcpClient server)
    {
        private volatile bool _silent;

        public TcpClient Client => client;

        public TcpClient Server => server;

        public bool Silent
        {
            get => _silent;
            set => _silent = value;
        }
    }
}
