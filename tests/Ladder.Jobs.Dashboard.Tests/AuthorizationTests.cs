using System.Net;
using System.Net.Sockets;
using Ladder.Jobs.Dashboard.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>
/// The default policy lets in loopback callers only. Proved three ways: the policy function on each kind of address; a
/// real Kestrel app whose connection address is replaced by a non-loopback one before the dashboard (as a proxy's
/// forwarded-headers middleware would), on every endpoint; and a real Unix-socket connection, which has no IP address.
/// (A real TCP caller from a non-loopback interface would need traffic to an address off loopback, which tests here
/// never send.)
/// </summary>
[TestFixture]
public sealed class AuthorizationTests
{
    private static readonly string[] Endpoints = ["/jobs", "/jobs/jobs?state=dead", "/jobs/jobs/1", "/jobs/api/overview", "/jobs/api/jobs?state=ready", "/jobs/api/jobs/1", "/jobs/assets/dashboard.css"];

    [TestCase("127.0.0.1", true)]
    [TestCase("127.8.9.10", true)]
    [TestCase("::1", true)]
    [TestCase("::ffff:127.0.0.1", true)]
    [TestCase("10.1.2.3", false)]
    [TestCase("192.168.1.10", false)]
    [TestCase("203.0.113.7", false)]
    [TestCase("::ffff:10.1.2.3", false)]
    [TestCase("fe80::1", false)]
    [TestCase(null, false)]
    [CancelAfter(10_000)]
    public async Task DefaultPolicy_AllowsLoopbackAddressesOnly(string? address, bool allowed)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = address is null ? null : IPAddress.Parse(address);

        LadderJobsDashboardOptions.IsLoopback(context).Should().Be(allowed);
        (await new LadderJobsDashboardOptions().Authorize(context)).Should().Be(allowed, "the default Authorize is IsLoopback");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NonLoopbackCaller_IsRefusedEverywhere_ByDefault_AndChangesNothing(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(beforeDashboard: static app => app.Use(static (context, next) =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
            return next(context);
        }));
        var id = await host.DeadJobAsync("boom", ct);

        foreach (var path in Endpoints)
        {
            using var response = await host.Client.GetAsync(path, ct);
            response.StatusCode.Should().Be(HttpStatusCode.Forbidden, path);
            (await response.Content.ReadAsStringAsync(ct)).Should().NotContain("Overview").And.NotContain("boom");
        }

        using var retry = await host.PostAsync($"/jobs/jobs/{id}/retry", token: "irrelevant", ct);
        retry.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using var purge = await host.PostAsync("/jobs/purge", token: "irrelevant", ct, ("state", "dead"), ("age", "0"));
        purge.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.Queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Dead);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LoopbackCaller_IsLetIn_ByDefault(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await host.DeadJobAsync("boom", ct);

        foreach (var path in Endpoints.Where(static p => !p.EndsWith("/1", StringComparison.Ordinal)))
        {
            using var response = await host.Client.GetAsync(path, ct);
            response.StatusCode.Should().Be(HttpStatusCode.OK, path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallerOnAUnixSocket_HasNoAddress_AndIsRefusedByDefault(CancellationToken ct)
    {
        using var folder = new TempFolder();
        var socket = folder.File("dashboard.sock");
        await using var host = await DashboardHost.StartAsync(configureBuilder: b => b.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket)));
        using var client = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), token);
                return new NetworkStream(s, ownsSocket: true);
            },
        });

        using var response = await client.GetAsync("http://localhost/jobs", ct);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ACustomPolicy_ReplacesTheDefault(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(static o => o.Authorize = static c => ValueTask.FromResult(c.Request.Headers["X-Operator"] == "yes"));

        using var refused = await host.Client.GetAsync("/jobs", ct);
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden, "a loopback caller is refused once the policy says so");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/jobs");
        request.Headers.Add("X-Operator", "yes");
        using var allowed = await host.Client.SendAsync(request, ct);
        allowed.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
