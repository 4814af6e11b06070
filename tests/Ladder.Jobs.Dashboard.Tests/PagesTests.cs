using System.Net;
using System.Text.Json;
using Ladder.Jobs.Dashboard.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>Each page and its JSON endpoint over a real Kestrel on loopback and a real SQLite file.</summary>
[TestFixture]
public sealed class PagesTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Overview_ShowsTotalsByState_QueuesByState_AndThePurgeForm(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await host.DeadJobAsync("corrupt replay", ct);
        await host.SucceededJobAsync("hello", ct);
        await host.ReadyJobAsync("waiting", ct);
        await host.ReadyJobAsync("waiting too", ct);

        var html = await host.GetPageAsync("/jobs", ct);

        html.Should().Contain("<title>Overview · Ladder jobs</title>");
        html.Should().MatchRegex("<a class=\"card state-ready\" href=\"/jobs/jobs\\?state=ready\"><span class=\"label\">ready</span><span class=\"count\">2</span></a>");
        html.Should().MatchRegex("<a class=\"card state-dead\"[^>]*><span class=\"label\">dead</span><span class=\"count\">1</span>");
        html.Should().Contain("<th scope=\"row\">idle</th>").And.Contain("<th scope=\"row\">default</th>");
        html.Should().Contain("href=\"/jobs/jobs?state=ready&amp;queue=idle\">2</a>");
        html.Should().Contain("<form method=\"post\" class=\"action purge\" action=\"/jobs/purge\" data-confirm=");
        html.Should().Contain("Store: " + host.DatabasePath);
        (await host.GetPageAsync("/jobs/", ct)).Should().Contain("<h1>Overview</h1>", "the trailing slash serves the same page");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PageNote_IsShownInEveryPagesFooter_FromTheRequest_AndNothingWithoutIt(CancellationToken ct)
    {
        await using (var host = await DashboardHost.StartAsync(static o => o.PageNote = static c => $"served by port {c.Connection.LocalPort} <&>"))
        {
            var note = $"<span class=\"page-note\">served by port {host.Url.Port} &lt;&amp;&gt;</span>";
            (await host.GetPageAsync("/jobs", ct)).Should().Contain(note, "the note is encoded, from the request's own port");
            (await host.GetPageAsync("/jobs/jobs?state=ready", ct)).Should().Contain(note);
            (await host.GetPageAsync("/jobs/schedules", ct)).Should().Contain(note);
        }

        await using var plain = await DashboardHost.StartAsync();
        (await plain.GetPageAsync("/jobs", ct)).Should().NotContain("page-note");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobList_PagesByKeyset_FiltersByQueue_AndLinksEachJob(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(o => o.PageSize = 2);
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.ReadyJobAsync($"job {i}", ct));
        }

        await host.ReadyJobAsync("elsewhere", ct, queue: "other");

        var first = await host.GetPageAsync("/jobs/jobs?state=ready&queue=idle", ct);
        first.Should().Contain($"data-job-id=\"{ids[0]}\"").And.Contain($"data-job-id=\"{ids[1]}\"").And.NotContain($"data-job-id=\"{ids[2]}\"");
        first.Should().Contain($"<a href=\"/jobs/jobs/{ids[0]}\">#{ids[0]}</a>");
        first.Should().Contain($"href=\"/jobs/jobs?state=ready&amp;queue=idle&amp;after={ids[1]}\" class=\"next\">Next page »</a>");
        first.Should().Contain("<option value=\"idle\" selected>idle</option>");

        var third = await host.GetPageAsync($"/jobs/jobs?state=ready&queue=idle&after={ids[3]}", ct);
        third.Should().Contain($"data-job-id=\"{ids[4]}\"").And.NotContain("Next page").And.Contain("« First page");

        var dead = await host.GetPageAsync("/jobs/jobs?state=dead", ct);
        dead.Should().Contain("No dead jobs match.");
        await host.GetPageAsync("/jobs/jobs?state=nonsense", ct, HttpStatusCode.BadRequest);

        using var json = JsonDocument.Parse(await host.GetPageAsync("/jobs/api/jobs?state=ready&queue=idle", ct));
        json.RootElement.GetProperty("jobs").EnumerateArray().Select(static j => j.GetProperty("id").GetInt64()).Should().Equal(ids[0], ids[1]);
        json.RootElement.GetProperty("nextAfterId").GetInt64().Should().Be(ids[1]);
        json.RootElement.GetProperty("jobs")[0].GetProperty("state").GetString().Should().Be("ready");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobList_SearchesByKindAndUniqueKeyPrefix_AndPagesWithinTheSearch(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(o => o.PageSize = 2);
        var players = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            players.Add(await host.ReadyJobAsync($"player {i}", ct, uniqueKey: $"player-{i}"));
        }

        var replay = await host.ReadyJobAsync("replay", ct, uniqueKey: "replay-1");
        var other = (await host.Queue.EnqueueAsync(new JobRequest("sync-profile", "{}", new JobOptions { Queue = "idle", UniqueKey = "player-9" }), ct)).JobId;

        var byKey = await host.GetPageAsync("/jobs/jobs?state=ready&key=player-", ct);
        byKey.Should().Contain($"data-job-id=\"{players[0]}\"").And.Contain($"data-job-id=\"{players[1]}\"")
            .And.NotContain($"data-job-id=\"{replay}\"").And.Contain("name=\"key\" placeholder=\"starts with\" value=\"player-\"");
        byKey.Should().Contain($"href=\"/jobs/jobs?state=ready&amp;key=player-&amp;after={players[1]}\" class=\"next\">", "the next page keeps the search");
        var secondPage = await host.GetPageAsync($"/jobs/jobs?state=ready&key=player-&after={players[1]}", ct);
        secondPage.Should().Contain($"data-job-id=\"{players[2]}\"").And.Contain($"data-job-id=\"{other}\"").And.NotContain($"data-job-id=\"{replay}\"");

        var byKindAndKey = await host.GetPageAsync("/jobs/jobs?state=ready&kind=sync-profile&key=player-", ct);
        byKindAndKey.Should().Contain($"data-job-id=\"{other}\"").And.NotContain($"data-job-id=\"{players[0]}\"");
        (await host.GetPageAsync("/jobs/jobs?state=ready&kind=test.echo&key=nobody", ct)).Should().Contain("No ready jobs match.");

        using var json = JsonDocument.Parse(await host.GetPageAsync("/jobs/api/jobs?state=ready&kind=test.echo&key=replay-", ct));
        json.RootElement.GetProperty("jobs").EnumerateArray().Select(static j => j.GetProperty("id").GetInt64()).Should().Equal(replay);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobList_RefusesAPageCursorThatIsNotAJobId_InsteadOfShowingTheFirstPage(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await host.ReadyJobAsync("one", ct);

        foreach (var after in new[] { "abc", "-5", "0", "99999999999999999999" })
        {
            var page = await host.GetPageAsync($"/jobs/jobs?state=ready&after={after}", ct, HttpStatusCode.BadRequest);
            page.Should().Contain("<h1>Bad page cursor</h1>").And.Contain("after", $"'{after}' is named as the problem");
            using var json = JsonDocument.Parse(await host.GetPageAsync($"/jobs/api/jobs?state=ready&after={after}", ct, HttpStatusCode.BadRequest));
            json.RootElement.GetProperty("error").GetString().Should().Contain("after");
        }

        using var state = JsonDocument.Parse(await host.GetPageAsync("/jobs/api/jobs?state=nonsense", ct, HttpStatusCode.BadRequest));
        state.RootElement.GetProperty("error").GetString().Should().Be("unknown state");
        (await host.GetPageAsync("/jobs/jobs?state=ready&after=", ct)).Should().Contain("data-job-id=", "an empty cursor is the first page");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobPage_ForAnIdThatIsNotANumber_IsTheDashboardsOwnNotFound_WithItsHeaders(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();

        foreach (var id in new[] { "abc", "99999999999999999999" })
        {
            using var page = await host.Client.GetAsync($"/jobs/jobs/{id}", ct);
            page.StatusCode.Should().Be(HttpStatusCode.NotFound);
            (await page.Content.ReadAsStringAsync(ct)).Should().Contain("<h1>No job").And.Contain("whole number");
            page.Headers.CacheControl!.NoStore.Should().BeTrue("it is the dashboard's answer, not the app's bare 404");

            using var json = await host.Client.GetAsync($"/jobs/api/jobs/{id}", ct);
            json.StatusCode.Should().Be(HttpStatusCode.NotFound);
            using var body = JsonDocument.Parse(await json.Content.ReadAsStringAsync(ct));
            body.RootElement.GetProperty("error").GetString().Should().Contain("not a job id");
        }

        // That answer comes last: an app route beside the dashboard still gets the paths that are not job ids.
        await using var beside = await DashboardHost.StartAsync(beforeDashboard: static app => app.MapGet("/jobs/jobs/{slug}", static (string slug) => "app: " + slug));
        (await beside.GetPageAsync("/jobs/jobs/abc", ct)).Should().Be("app: abc");
        (await beside.GetPageAsync("/jobs/jobs/987654", ct, HttpStatusCode.NotFound)).Should().Contain("No job #987654", "a job id is still the dashboard's");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobList_WhenSearching_SaysTheStateCountsAreNotNarrowedBySearch(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await host.ReadyJobAsync("one", ct, uniqueKey: "player-1");
        await host.ReadyJobAsync("two", ct, uniqueKey: "replay-1");

        (await host.GetPageAsync("/jobs/jobs?state=ready&key=player-", ct)).Should().Contain("class=\"note counts-scope\"")
            .And.Contain("not narrowed by the kind or unique-key search");
        (await host.GetPageAsync("/jobs/jobs?state=ready&queue=idle", ct)).Should().NotContain("counts-scope", "the queue filter does narrow the counts");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JobPage_ShowsThePayload_TheAttemptWithItsErrorAndStack_AndTiming(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("corrupt replay: bad header", ct, uniqueKey: "replay-abc");

        var html = await host.GetPageAsync($"/jobs/jobs/{id}", ct);

        html.Should().Contain($"<h1>Job #{id} <span class=\"state state-dead\">dead</span></h1>");
        html.Should().Contain("<dt>Kind</dt><dd>test.boom</dd>").And.Contain("<dt>Unique key</dt><dd>replay-abc</dd>");
        html.Should().Contain("<dt>Attempts</dt><dd>1 of 1</dd>");
        html.Should().Contain("<pre class=\"payload\">{\n  &quot;message&quot;: &quot;corrupt replay: bad header&quot;\n}</pre>");
        html.Should().Contain("<span class=\"outcome outcome-dead\">dead</span>");
        html.Should().Contain("Ladder.Jobs.JobPermanentFailureException: corrupt replay: bad header");
        html.Should().Contain("<details><summary>Stack trace</summary><pre class=\"stack\">");
        html.Should().MatchRegex("<dt>Started</dt><dd>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ</dd>").And.Contain("<dt>Ran</dt>");
        html.Should().Contain($"action=\"/jobs/jobs/{id}/retry\"").And.NotContain($"action=\"/jobs/jobs/{id}/cancel\"", "a dead job can be retried, not cancelled");

        await host.GetPageAsync("/jobs/jobs/987654", ct, HttpStatusCode.NotFound);
        using var json = JsonDocument.Parse(await host.GetPageAsync($"/jobs/api/jobs/{id}", ct));
        json.RootElement.GetProperty("summary").GetProperty("state").GetString().Should().Be("dead");
        json.RootElement.GetProperty("attempts")[0].GetProperty("errorStack").GetString().Should().NotBeNullOrEmpty();
        await host.GetPageAsync("/jobs/api/jobs/987654", ct, HttpStatusCode.NotFound);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OverviewJson_HasTotalsQueuesAndSamples_AndAssetsAreServedFromThePackage(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await host.ReadyJobAsync("waiting", ct);

        using var json = JsonDocument.Parse(await host.GetPageAsync("/jobs/api/overview", ct));
        json.RootElement.GetProperty("totals").GetProperty("ready").GetInt64().Should().Be(1);
        json.RootElement.GetProperty("queues")[0].GetProperty("queue").GetString().Should().Be("idle");
        json.RootElement.GetProperty("samples").GetArrayLength().Should().Be(1);
        json.RootElement.GetProperty("countedInMs").GetDouble().Should().BeGreaterThanOrEqualTo(0);
        json.RootElement.GetProperty("reusedForMs").GetDouble().Should().BeGreaterThanOrEqualTo(2500, "half the default poll interval at least");

        var page = await host.GetPageAsync("/jobs", ct);
        var css = System.Text.RegularExpressions.Regex.Match(page, "href=\"(/jobs/assets/dashboard\\.css\\?v=[0-9a-f]+)\"").Groups[1].Value;
        var js = System.Text.RegularExpressions.Regex.Match(page, "src=\"(/jobs/assets/dashboard\\.js\\?v=[0-9a-f]+)\"").Groups[1].Value;
        using var cssResponse = await host.Client.GetAsync(css, ct);
        cssResponse.StatusCode.Should().Be(HttpStatusCode.OK);
        cssResponse.Content.Headers.ContentType!.MediaType.Should().Be("text/css");
        cssResponse.Headers.CacheControl!.ToString().Should().Contain("immutable");
        (await host.GetPageAsync(js, ct)).Should().Contain("data-poll-ms");
        await host.GetPageAsync("/jobs/assets/other.js", ct, HttpStatusCode.NotFound);
        page.Should().NotMatchRegex("(src|href)=\"(https?:)?//", "every asset is served by the package, none from elsewhere");
    }
}
