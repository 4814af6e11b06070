using System.Net;
using System.Net.Sockets;

namespace Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of one server (PostgreSQL or Redis), used by one reader node only, so that node
/// can be cut off while the others keep their direct connections. <see cref="Block"/> refuses new connections (accepted,
/// then closed at once) until <see cref="Restore"/>, so a client whose connection the server killed cannot come back
/// before then; <see cref="Cut"/> also closes every connection the relay carries. To the client it is a server that
/// went away and does not come back until <see cref="Restore"/>.
/// </summary>
internal sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly Lock _gate = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _pairs = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private volatile bool _cut;
    private int _refused;
    private int _accepted;

    public LoopbackProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections refused while cut (the client's reconnect attempts).</summary>
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

    /// <summary>Refuses new connections until <see cref="Restore"/>; the relayed ones stay.</summary>
    public void Block() => _cut = true;

    /// <summary>Closes every relayed connection and refuses new ones until <see cref="Restore"/>. Returns how many it closed.</summary>
    public int Cut()
    {
        _cut = true;
        List<(TcpClient Client, TcpClient Server)> pairs;
        lock (_gate)
        {
            pairs = [.. _pairs];
            _pairs.Clear();
        }

        foreach (var (client, server) in pairs)
        {
            client.Dispose();
            server.Dispose();
        }

        return pairs.Count;
    }

    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

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

            if (_cut)
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
            await server.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            client.Dispose();
            server.Dispose();
            return;
        }

        lock (_gate)
        {
            if (_cut)
            {
                client.Dispose();
                server.Dispose();
                Interlocked.Increment(ref _refused);
                return;
            }

            _pairs.Add((client, server));
        }

        Interlocked.Increment(ref _accepted);
        try
        {
            var up = PumpAsync(client, server);
            var down = PumpAsync(server, client);
            await Task.WhenAny(up, down);
        }
        finally
        {
            lock (_gate)
            {
                _pairs.Remove((client, server));
            }

            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
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

                await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
            // The other side went away, or the relay was cut: the pair is closed by the caller.
        }
    }
}
