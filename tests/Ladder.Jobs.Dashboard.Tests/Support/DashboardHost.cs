using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Dashboard.Tests.Support;

/// <summary>
/// A real ASP.NET Core app on Kestrel (loopback, a free port) with Ladder.Jobs on a fresh SQLite file, its processor
/// running, and the dashboard mounted at /jobs. The client keeps cookies (the anti-forgery cookie) and does not follow
/// redirects, so tests see the 303 of an action.
/// </summary>
public sealed partial class DashboardHost : IAsyncDisposable
{
    private readonly TempFolder _folder;

    private DashboardHost(TempFolder folder, WebApplication app, Uri url)
    {
        _folder = folder;
        App = app;
        Url = url;
        Queue = app.Services.GetRequiredService<JobQueue>();
        Cookies = new CookieContainer();
        Client = new HttpClient(new SocketsHttpHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = url };
    }

    public WebApplication App { get; }

    public Uri Url { get; }

    public JobQueue Queue { get; }

    public CookieContainer Cookies { get; }

    public HttpClient Client { get; }

    /// <summary>While true, boom jobs fail permanently; a retried boom job succeeds once it is false.</summary>
    public bool BoomFails { get; set; } = true;

    public string DatabasePath => _folder.File("jobs.db");

    public static async Task<DashboardHost> StartAsync(
        Action<LadderJobsDashboardOptions>? configure = null,
        Action<WebApplication>? beforeDashboard = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        bool addAntiforgery = true,
        Action<LadderJobsOptions>? configureJobs = null)
    {
        var folder = new TempFolder();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = folder.Path, EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        configureBuilder?.Invoke(builder);
        if (addAntiforgery)
        {
            builder.Services.AddAntiforgery();
        }

        DashboardHost? host = null;
        builder.Services.AddLadderJobs(o =>
            {
                o.Path = folder.File("jobs.db");
                o.Queues.Clear();
                o.Queues["default"] = 2;
                o.PollInterval = TimeSpan.FromMilliseconds(200);
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(50);
                o.DefaultMaxAttempts = 1;
                configureJobs?.Invoke(o);
            })
            .AddHandler<Echo>(static (_, _, _) => Task.CompletedTask)
            .AddHandler<Boom>((job, _, _) => host!.BoomFails ? throw new JobPermanentFailureException(job.Message) : Task.CompletedTask);

        var app = builder.Build();
        beforeDashboard?.Invoke(app);
        app.MapLadderJobsDashboard("/jobs", configure);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal));
        // A Unix socket's address ("http://unix:/path") is no URL; that test makes its own client.
        host = new DashboardHost(folder, app, address.Contains("unix:", StringComparison.Ordinal) ? new Uri("http://localhost/") : new Uri(address + "/"));
        return host;
    }

    /// <summary>A dead boom job (its handler failed permanently with <paramref name="message"/>).</summary>
    public async Task<long> DeadJobAsync(string message, CancellationToken ct, string? uniqueKey = null)
    {
        var id = (await Queue.EnqueueAsync(new Boom(message), new JobOptions { UniqueKey = uniqueKey }, ct)).JobId;
        (await Queue.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Dead);
        return id;
    }

    public async Task<long> SucceededJobAsync(string text, CancellationToken ct)
    {
        var id = (await Queue.EnqueueAsync(new Echo(text), cancellationToken: ct)).JobId;
        (await Queue.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        return id;
    }

    /// <summary>A job in a queue no processor here runs: it stays ready.</summary>
    public async Task<long> ReadyJobAsync(string text, CancellationToken ct, string? uniqueKey = null, string queue = "idle") =>
        (await Queue.EnqueueAsync(new Echo(text), new JobOptions { Queue = queue, UniqueKey = uniqueKey }, ct)).JobId;

    public async Task<long> ScheduledJobAsync(string text, CancellationToken ct) =>
        (await Queue.EnqueueAsync(new Echo(text), new JobOptions { Delay = TimeSpan.FromHours(1) }, ct)).JobId;

    /// <summary>Stops the processor, so a retried job stays ready for the test to see.</summary>
    public Task StopProcessingAsync(CancellationToken ct) => App.Services.GetRequiredService<JobProcessor>().StopAsync(ct);

    public async Task<string> GetPageAsync(string path, CancellationToken ct, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Client.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        response.StatusCode.Should().Be(expected, body);
        return body;
    }

    /// <summary>The anti-forgery token of the first form on a page (the cookie half is in <see cref="Cookies"/>).</summary>
    public static string FormToken(string html) =>
        TokenField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new AssertionException("the page has no anti-forgery field");

    /// <summary>Posts a form with the page's token (or without one, when <paramref name="token"/> is null).</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, string? token, CancellationToken ct, params (string Name, string Value)[] fields)
    {
        var values = fields.Select(static f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        if (token is not null)
        {
            values.Add(new("__RequestVerificationToken", token));
        }

        return await Client.PostAsync(path, new FormUrlEncodedContent(values), ct);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _folder.Dispose();
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
