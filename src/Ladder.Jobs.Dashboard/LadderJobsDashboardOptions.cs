using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs.Dashboard;

/// <summary>Options of the jobs dashboard mounted by <see cref="LadderJobsDashboardEndpointRouteBuilderExtensions.MapLadderJobsDashboard"/>.</summary>
public sealed class LadderJobsDashboardOptions
{
    /// <summary>The shortest <see cref="PollInterval"/>: 1 second.</summary>
    public static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The longest <see cref="PollInterval"/>: 1 hour.</summary>
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromHours(1);

    /// <summary>
    /// Decides whether a request may see the dashboard (pages, JSON and actions); a refused request gets 403.
    /// <para>
    /// <b>Default: <see cref="IsLoopback"/>, only callers connected from a loopback address (127.0.0.0/8, ::1).</b>
    /// Every other caller is refused, including one with no IP address (a Unix socket, an in-memory test server).
    /// Behind a reverse proxy on the same host every request comes from loopback: use the ASP.NET Core forwarded-headers
    /// middleware (so the remote address is the client's) or set your own policy. To open the dashboard to
    /// signed-in operators, chain <c>.RequireAuthorization("policy")</c> on the mapping and set this to
    /// <c>_ =&gt; ValueTask.FromResult(true)</c>, or check <see cref="HttpContext.User"/> here.
    /// </para>
    /// </summary>
    public Func<HttpContext, ValueTask<bool>> Authorize { get; set; } = static context => ValueTask.FromResult(IsLoopback(context));

    /// <summary>
    /// No actions: retry, cancel and purge are neither shown nor accepted (a POST gets 403). Default: <see langword="false"/>.
    /// A read-only dashboard needs no anti-forgery services.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>The title shown in the header and the browser tab. Default: <c>Ladder jobs</c>.</summary>
    public string Title { get; set; } = "Ladder jobs";

    /// <summary>
    /// A short note for each page, shown in its footer beside the store's name: for example which host of a cluster
    /// served the page (the request's own port is known there, also for a host started on port 0). Called once per
    /// page; <see langword="null"/> or empty shows nothing. Default: none.
    /// </summary>
    public Func<HttpContext, string?>? PageNote { get; set; }

    /// <summary>
    /// How often an open overview page refreshes itself, and the closest two samples of the counts chart may be.
    /// <see cref="MinPollInterval"/>..<see cref="MaxPollInterval"/>. Default: 5 seconds.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many samples the counts chart keeps (older ones are dropped), 2..10,000. Default: 120 (10 minutes at the default poll interval).</summary>
    public int ChartSamples { get; set; } = 120;

    /// <summary>Jobs per page in the job lists, 1..1000. Default: 50.</summary>
    public int PageSize { get; set; } = 50;

    /// <summary>
    /// The default policy of <see cref="Authorize"/>: <see langword="true"/> when the connection's remote address is a
    /// loopback address (an IPv4-mapped IPv6 loopback address included); <see langword="false"/> for any other
    /// address and for a connection with no address.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>Whether the caller is on loopback.</returns>
    public static bool IsLoopback(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Connection.RemoteIpAddress is { } address
            && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
    }

    // Every failure at once, at mapping time (STYLE 11).
    internal void Validate()
    {
        var failures = new List<string>();
        if (Authorize is null)
        {
            failures.Add($"{nameof(Authorize)} is required (the default allows loopback callers only).");
        }

        if (string.IsNullOrWhiteSpace(Title))
        {
            failures.Add($"{nameof(Title)} must not be empty.");
        }

        if (PollInterval < MinPollInterval || PollInterval > MaxPollInterval)
        {
            failures.Add($"{nameof(PollInterval)} must be between {MinPollInterval} and {MaxPollInterval}; it is {PollInterval}.");
        }

        if (ChartSamples is < 2 or > 10_000)
        {
            failures.Add($"{nameof(ChartSamples)} must be between 2 and 10000; it is {ChartSamples}.");
        }

        if (PageSize is < 1 or > 1000)
        {
            failures.Add($"{nameof(PageSize)} must be between 1 and 1000; it is {PageSize}.");
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(nameof(LadderJobsDashboardOptions), typeof(LadderJobsDashboardOptions), failures);
        }
    }
}
