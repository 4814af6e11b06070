using System.Net;
using System.Text.Json;
using Ladder.Jobs.Dashboard.Tests.Support;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>The schedules page: every schedule with its ticks, zone, next/last tick, paused and orphaned; pause and resume through its forms.</summary>
[TestFixture]
public sealed class SchedulesPageTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    /// <summary>A cron schedule in Berlin, an interval one (paused), and one declared in code by a host and then no longer (orphaned).</summary>
    internal static async Task SeedSchedulesAsync(DashboardHost host, CancellationToken ct)
    {
        await host.Queue.SetScheduleAsync(JobSchedule.Cron("nightly-ratings", "30 2 * * *", JobRequest.For(new Echo("ratings"), new JobOptions { Queue = "idle" }), Berlin), ct);
        await host.Queue.SetScheduleAsync(JobSchedule.Every("replay-sweep", TimeSpan.FromMinutes(15), JobRequest.For(new Echo("sweep"), new JobOptions { Queue = "idle" })), ct);
        await host.Queue.PauseScheduleAsync("replay-sweep", ct);
        var declared = new JobSchedulerOptions();
        declared.Schedules.Add(JobSchedule.Every("<b>old-digest</b>", TimeSpan.FromHours(1), JobRequest.For(new Echo("digest"), new JobOptions { Queue = "idle" })));
        await using (var old = new JobScheduler(host.Queue, declared))
        {
            await old.StartAsync(ct);
        }

        // The next version of the host's code declares nothing: the old schedule is reported orphaned.
        await using var next = new JobScheduler(host.Queue, new JobSchedulerOptions());
        await next.StartAsync(ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ThePage_ListsEverySchedule_WithItsTicksZoneNextTickAndState_AndIsInTheNavigation(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await SeedSchedulesAsync(host, ct);

        var overview = await host.GetPageAsync("/jobs", ct);
        overview.Should().Contain("href=\"/jobs/schedules\">Schedules</a>");
        var page = await host.GetPageAsync("/jobs/schedules", ct);

        page.Should().Contain("cron 30 2 * * *").And.Contain("Europe/Berlin").And.Contain("every 15.0 min").And.Contain(">paused<").And.Contain(">orphaned<").And.Contain(">active<");
        page.Should().Contain("&lt;b&gt;old-digest&lt;/b&gt;").And.NotContain("<b>old-digest</b>", "a schedule's name is text");
        var nightly = (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "nightly-ratings");
        page.Should().Contain($"<time datetime=\"{nightly.NextTick!.Value.UtcDateTime:o}\">");
        page.Should().Contain("action=\"/jobs/schedules/resume\"").And.Contain("action=\"/jobs/schedules/pause\"");

        var json = JsonDocument.Parse(await host.GetPageAsync("/jobs/api/schedules", ct)).RootElement;
        json.GetArrayLength().Should().Be(3);
        json.EnumerateArray().Select(s => (s.GetProperty("name").GetString(), s.GetProperty("paused").GetBoolean(), s.GetProperty("orphaned").GetBoolean()))
            .Should().Equal(("<b>old-digest</b>", false, true), ("nightly-ratings", false, false), ("replay-sweep", true, false));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PausingAScheduleWhoseNameNeedsEscaping_ShowsItsNotice_OnTheSignedRedirect(CancellationToken ct)
    {
        // The notice's query is signed as sent (the name escaped) and checked against the query as it comes back.
        await using var host = await DashboardHost.StartAsync();
        const string name = "a&b ü=?/#";
        await host.Queue.SetScheduleAsync(JobSchedule.Every(name, TimeSpan.FromHours(1), new JobRequest("digest", "{}")), ct);
        var token = DashboardHost.FormToken(await host.GetPageAsync("/jobs/schedules", ct));

        using var pause = await host.PostAsync("/jobs/schedules/pause", token, ct, ("name", name));

        pause.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        var page = await host.GetPageAsync(pause.Headers.Location!.OriginalString, ct);
        page.Should().Contain("Paused a&amp;b").And.Contain("it enqueues nothing until resumed");
        (await host.Queue.GetSchedulesAsync(ct)).Single().Paused.Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PauseAndResume_ThroughTheForms_ChangeTheStore_OnlyWithTheFormsToken(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        await SeedSchedulesAsync(host, ct);
        var token = DashboardHost.FormToken(await host.GetPageAsync("/jobs/schedules", ct));

        using (var forged = await host.PostAsync("/jobs/schedules/pause", token: null, ct, ("name", "nightly-ratings")))
        {
            forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "nightly-ratings").Paused.Should().BeFalse();
        string paused;
        using (var pause = await host.PostAsync("/jobs/schedules/pause", token, ct, ("name", "nightly-ratings")))
        {
            pause.StatusCode.Should().Be(HttpStatusCode.SeeOther);
            paused = pause.Headers.Location!.OriginalString;
            paused.Should().StartWith("/jobs/schedules?done=paused&name=nightly-ratings&n=");
        }

        (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "nightly-ratings").Paused.Should().BeTrue();
        (await host.GetPageAsync(paused, ct)).Should().Contain("Paused nightly-ratings");

        using (var resume = await host.PostAsync("/jobs/schedules/resume", token, ct, ("name", "replay-sweep")))
        {
            resume.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        }

        (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "replay-sweep").Paused.Should().BeFalse();
        using (var missing = await host.PostAsync("/jobs/schedules/pause", token, ct, ("name", "nothing")))
        {
            missing.Headers.Location!.OriginalString.Should().Contain("done=missing");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReadOnly_ShowsTheSchedulesWithoutForms_AndRefusesPause(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync(static o => o.ReadOnly = true);
        await SeedSchedulesAsync(host, ct);

        var page = await host.GetPageAsync("/jobs/schedules", ct);
        page.Should().Contain("nightly-ratings").And.NotContain("<form method=\"post\"");
        using var pause = await host.PostAsync("/jobs/schedules/pause", token: null, ct, ("name", "nightly-ratings"));
        pause.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "nightly-ratings").Paused.Should().BeFalse();
    }
}
