using Ladder.Jobs.Dashboard.Tests.Support;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>Payloads, errors, keys and queue names are user data: every page writes them encoded.</summary>
[TestFixture]
public sealed class EncodingTests
{
    private const string ScriptInPayload = "</pre><script>alert('payload')</script>";
    private const string ImageInKey = "<img src=x onerror=alert('key')>";
    private const string ScriptInError = "<script>alert('error')</script>";
    private const string QueueName = "q\"><script>alert('queue')</script>";

    [Test]
    [CancelAfter(60_000)]
    public async Task MarkupInPayloadsErrorsKeysAndQueueNames_IsShownAsText_NeverAsMarkup(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var dead = await host.DeadJobAsync(ScriptInError, ct, uniqueKey: ImageInKey);
        var ready = (await host.Queue.EnqueueAsync(new JobRequest("test.echo", $$"""{"text":"{{ScriptInPayload.Replace("'", "\\u0027", StringComparison.Ordinal)}}"}""", new JobOptions { Queue = QueueName }), ct)).JobId;

        var pages = new[]
        {
            await host.GetPageAsync("/jobs", ct),
            await host.GetPageAsync("/jobs/jobs?state=dead", ct),
            await host.GetPageAsync($"/jobs/jobs?state=ready&queue={Uri.EscapeDataString(QueueName)}&kind={Uri.EscapeDataString(ScriptInError)}", ct),
            await host.GetPageAsync($"/jobs/jobs/{dead}", ct),
            await host.GetPageAsync($"/jobs/jobs/{ready}", ct),
        };

        foreach (var html in pages)
        {
            html.Should().NotContain("<script>alert").And.NotContain("<img src=x").And.NotContain("\"><script>");
            // The only script element is the package's own.
            System.Text.RegularExpressions.Regex.Matches(html, "<script").Should().HaveCount(1);
        }

        pages[3].Should().Contain("&lt;script&gt;alert(&#39;error&#39;)&lt;/script&gt;", "the error is shown, encoded");
        pages[3].Should().Contain("&lt;img src=x onerror=alert(&#39;key&#39;)&gt;", "the unique key is shown, encoded");
        pages[4].Should().Contain("&lt;/pre&gt;&lt;script&gt;alert(&#39;payload&#39;)&lt;/script&gt;", "the payload is shown, encoded");
        pages[0].Should().Contain("q&quot;&gt;&lt;script&gt;alert(&#39;queue&#39;)&lt;/script&gt;", "the queue name is shown, encoded");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EveryPage_ForbidsInlineScript_InItsContentSecurityPolicy(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        using var response = await host.Client.GetAsync("/jobs", ct);

        var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        policy.Should().Contain("script-src 'self'").And.NotContain("unsafe-inline").And.Contain("frame-ancestors 'none'");
        response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
    }
}
