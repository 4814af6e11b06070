using System.Net;
using Ladder.Jobs.Dashboard.Tests.Support;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>Retry, cancel and purge through the forms: they change the store, and only with the form's anti-forgery token.</summary>
[TestFixture]
public sealed class ActionsTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Retry_ADeadJob_MakesItReady_AndThePageSaysSo(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("boom", ct);
        await host.StopProcessingAsync(ct);
        var page = await host.GetPageAsync($"/jobs/jobs/{id}", ct);

        using var response = await host.PostAsync($"/jobs/jobs/{id}/retry", DashboardHost.FormToken(page), ct);

        response.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        response.Headers.Location!.OriginalString.Should().StartWith($"/jobs/jobs/{id}?done=retried&n=");
        var job = (await host.Queue.GetJobAsync(id, ct))!.Summary;
        job.State.Should().Be(JobState.Ready);
        job.Attempts.Should().Be(0, "a retry resets the attempts");
        (await host.GetPageAsync(response.Headers.Location.OriginalString, ct)).Should().Contain("Queued again");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Retry_ThenTheJobRunsAgain_AndSucceeds(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("boom", ct);
        host.BoomFails = false;
        var page = await host.GetPageAsync($"/jobs/jobs/{id}", ct);

        using var response = await host.PostAsync($"/jobs/jobs/{id}/retry", DashboardHost.FormToken(page), ct);

        response.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        var finished = (await host.Queue.WaitForFinishAsync(id, ct))!;
        finished.Summary.State.Should().Be(JobState.Succeeded);
        finished.Attempts.Should().ContainSingle(a => a.Outcome == "dead", "the dead attempt stays in its history");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_AScheduledJob_CancelsIt_AndASecondCancelSaysItHadFinished(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.ScheduledJobAsync("later", ct);
        var page = await host.GetPageAsync($"/jobs/jobs/{id}", ct);
        page.Should().Contain($"action=\"/jobs/jobs/{id}/cancel\"").And.NotContain($"action=\"/jobs/jobs/{id}/retry\"");
        var token = DashboardHost.FormToken(page);

        using (var response = await host.PostAsync($"/jobs/jobs/{id}/cancel", token, ct))
        {
            response.StatusCode.Should().Be(HttpStatusCode.SeeOther);
            response.Headers.Location!.OriginalString.Should().Contain("?done=cancelled&n=");
        }

        (await host.Queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Cancelled);
        string location;
        using (var again = await host.PostAsync($"/jobs/jobs/{id}/cancel", token, ct))
        {
            location = again.Headers.Location!.OriginalString;
            location.Should().Contain("?done=not-cancelled&n=");
        }

        (await host.GetPageAsync(location, ct)).Should().Contain("Not cancelled: it had already finished.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Purge_DeletesTheFinishedJobsOfOneState_AndKeepsTheRest(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var dead1 = await host.DeadJobAsync("boom 1", ct);
        var dead2 = await host.DeadJobAsync("boom 2", ct);
        var succeeded = await host.SucceededJobAsync("fine", ct);
        var page = await host.GetPageAsync("/jobs", ct);

        using var response = await host.PostAsync("/jobs/purge", DashboardHost.FormToken(page), ct, ("state", "dead"), ("age", "0"));

        response.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        response.Headers.Location!.OriginalString.Should().StartWith("/jobs/?purged=2&state=dead&n=");
        (await host.Queue.GetJobAsync(dead1, ct)).Should().BeNull();
        (await host.Queue.GetJobAsync(dead2, ct)).Should().BeNull();
        (await host.Queue.GetJobAsync(succeeded, ct)).Should().NotBeNull();
        (await host.GetPageAsync(response.Headers.Location.OriginalString, ct)).Should().Contain("Purged 2 dead jobs.");

        // By age: the succeeded job finished moments ago, so "older than 1 hour" keeps it.
        using var byAge = await host.PostAsync("/jobs/purge", DashboardHost.FormToken(page), ct, ("state", "succeeded"), ("age", "1h"));
        byAge.Headers.Location!.OriginalString.Should().StartWith("/jobs/?purged=0&state=succeeded&n=");
        (await host.Queue.GetJobAsync(succeeded, ct)).Should().NotBeNull();

        using var notTerminal = await host.PostAsync("/jobs/purge", DashboardHost.FormToken(page), ct, ("state", "ready"), ("age", "0"));
        notTerminal.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var badAge = await host.PostAsync("/jobs/purge", DashboardHost.FormToken(page), ct, ("state", "dead"), ("age", "5y"));
        badAge.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnActionWithoutTheFormToken_IsRefused_AndChangesNothing(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("boom", ct);
        await host.StopProcessingAsync(ct);
        var page = await host.GetPageAsync($"/jobs/jobs/{id}", ct);

        using var noToken = await host.PostAsync($"/jobs/jobs/{id}/retry", token: null, ct);
        using var forged = await host.PostAsync($"/jobs/jobs/{id}/retry", token: "CfDJ8forged", ct);
        using var purge = await host.PostAsync("/jobs/purge", token: null, ct, ("state", "dead"), ("age", "0"));

        noToken.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        purge.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await host.Queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Dead);

        // A token from the page but without the cookie it pairs with (another browser's form, replayed): refused too.
        using var cookieless = new HttpClient { BaseAddress = host.Url };
        using var replay = await cookieless.PostAsync(
            $"/jobs/jobs/{id}/retry", new FormUrlEncodedContent([new("__RequestVerificationToken", DashboardHost.FormToken(page))]), ct);
        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await host.Queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Dead);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReadOnly_ShowsNoForms_AndRefusesEveryAction(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(static o => o.ReadOnly = true);
        var id = await host.DeadJobAsync("boom", ct);
        await host.StopProcessingAsync(ct);

        var overview = await host.GetPageAsync("/jobs", ct);
        var job = await host.GetPageAsync($"/jobs/jobs/{id}", ct);
        overview.Should().NotContain("<form method=\"post\"").And.Contain("read-only");
        job.Should().NotContain("<form method=\"post\"").And.Contain("Ladder.Jobs.JobPermanentFailureException: boom");

        using var retry = await host.PostAsync($"/jobs/jobs/{id}/retry", token: null, ct);
        using var purge = await host.PostAsync("/jobs/purge", token: null, ct, ("state", "dead"), ("age", "0"));
        retry.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        purge.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.Queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Dead);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReadOnly_NeedsNoAntiforgeryServices_ButActionsDo(CancellationToken ct)
    {
        await using (var host = await DashboardHost.StartAsync(static o => o.ReadOnly = true, addAntiforgery: false))
        {
            await host.GetPageAsync("/jobs", ct);
        }

        var start = () => DashboardHost.StartAsync(addAntiforgery: false);
        (await start.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*AddAntiforgery()*");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnOutcomeInALinkTheDashboardDidNotRedirectTo_IsNotShown(CancellationToken ct)
    {
        // Before, the pages showed whatever the query said: a crafted link reported a purge, a pause or a retry that
        // nobody had done. Only the dashboard's own redirect (its query signed, "n") shows the outcome now.
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("boom", ct);
        var page = await host.GetPageAsync("/jobs", ct);

        (await host.GetPageAsync("/jobs/?purged=5&state=dead", ct)).Should().NotContain("Purged 5");
        (await host.GetPageAsync($"/jobs/jobs/{id}?done=retried", ct)).Should().NotContain("Queued again");
        (await host.GetPageAsync("/jobs/schedules?done=paused&name=anything", ct)).Should().NotContain("Paused anything");

        using var purge = await host.PostAsync("/jobs/purge", DashboardHost.FormToken(page), ct, ("state", "dead"), ("age", "0"));
        var signed = purge.Headers.Location!.OriginalString;
        (await host.GetPageAsync(signed, ct)).Should().Contain("Purged 1 dead jobs.");
        (await host.GetPageAsync(signed.Replace("purged=1", "purged=9", StringComparison.Ordinal), ct)).Should().NotContain("Purged", "the signature covers the whole query");
        (await host.GetPageAsync(signed[..^3] + (signed[^3] == 'A' ? "B" : "A") + signed[^2..], ct)).Should().NotContain("Purged", "a damaged signature shows nothing");
    }
}
