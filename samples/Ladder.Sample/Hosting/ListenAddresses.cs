using System.Net;
using System.Net.Sockets;

namespace Ladder.Sample.Hosting;

/// <summary>The host's listen URLs: parsed and checked before anything else starts.</summary>
internal static class ListenAddresses
{
    public const string Default = "http://127.0.0.1:5080";

    /// <summary>Parses ';'-separated http URLs; each one that is not usable is added to <paramref name="failures"/>.</summary>
    public static bool TryParse(string urls, List<string> failures, out IReadOnlyList<BindingAddress> addresses)
    {
        var parsed = new List<BindingAddress>();
        var ok = true;
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).DefaultIfEmpty(""))
        {
            BindingAddress? address = null;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
                // Reported below with the other unusable forms.
            }

            if (address is null || !string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase) || address.IsNamedPipe || address.IsUnixPipe
                || EndPoints(address) is [])
            {
                failures.Add($"Ladder:Urls: '{url}' is not an http URL to listen on (like {Default}; the host is localhost, an IP address or *).");
                ok = false;
                continue;
            }

            parsed.Add(address);
        }

        addresses = parsed;
        return ok;
    }

    /// <summary>What Kestrel binds for an address: localhost is both loopbacks, * (or +) every interface.</summary>
    public static IReadOnlyList<IPEndPoint> EndPoints(BindingAddress address) => address.Host switch
    {
        "localhost" => [new(IPAddress.Loopback, address.Port), new(IPAddress.IPv6Loopback, address.Port)],
        "*" or "+" => [new(IPAddress.IPv6Any, address.Port)],
        var host when IPAddress.TryParse(host.Trim('[', ']'), out var ip) => [new(ip, address.Port)],
        _ => [],
    };

    /// <summary>
    /// Binds each fixed port for a moment and lets go: a port another process listens on is found here, before the
    /// host opens its database, seeds demo data or claims a job. (Kestrel binds only after every hosted service has
    /// started, so without this a host that cannot listen would do all of that first.)
    /// </summary>
    public static void ThrowIfInUse(IReadOnlyList<BindingAddress> addresses)
    {
        var problems = new List<string>();
        foreach (var address in addresses.Where(static a => a.Port != 0))
        {
            foreach (var endPoint in EndPoints(address))
            {
                Socket? probe = null;
                try
                {
                    // Created inside the try: on a machine without IPv6 the socket itself cannot be made.
                    probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                    {
                        // Kestrel listens on [::] dual-mode, so an IPv4 listener on the port is a conflict too.
                        probe.DualMode = endPoint.Address.Equals(IPAddress.IPv6Any);
                    }

                    probe.Bind(endPoint);
                    probe.Listen();
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    problems.Add($"{address} cannot be used: {endPoint} is in use (another program, perhaps another Ladder host, listens there). " +
                        "Stop it, or pick another port: --port N.");
                    break;
                }
                catch (SocketException) when (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && address.Host is "localhost" or "*" or "+")
                {
                    // No IPv6 on this machine: Kestrel then listens on IPv4 only. The check passes over it (a port in
                    // use there still fails Kestrel's own bind, which the host reports the same way).
                }
                finally
                {
                    probe?.Dispose();
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new ListenException(problems);
        }
    }
}

/// <summary>The host cannot listen where it was told to; the messages say where and why.</summary>
internal sealed class ListenException(IReadOnlyList<string> problems) : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
