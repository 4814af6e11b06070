using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>Every stored schedule: what it ticks by, its zone, next and last tick, whether it is paused or orphaned; pause and resume.</summary>
internal static class SchedulesPage
{
    public static void Render(Html html, DashboardApp app, HttpContext context, IReadOnlyList<ScheduleInfo> schedules)
    {
        html.Element("h1", "Schedules");
        var name = context.Request.Query["name"].ToString();
        switch (Notices.Verified(context) ? context.Request.Query["done"].ToString() : "")
        {
            case "paused":
                Layout.Notice(html, $"Paused {name}: it enqueues nothing until resumed.");
                break;
            case "resumed":
                Layout.Notice(html, $"Resumed {name}: ticks missed while paused follow its missed-tick policy (one catch-up job, or none).");
                break;
            case "missing":
                Layout.Notice(html, $"No schedule named {name} (removed meanwhile?).", good: false);
                break;
        }

        if (schedules.Count == 0)
        {
            html.Element("p", "No schedules. Declare them with AddSchedule, or set them with JobQueue.SetScheduleAsync.", "note empty");
            return;
        }

        if (schedules.Any(static s => s.Orphaned))
        {
            html.Element("p", "An orphaned schedule was declared in code and is no longer: it does not fire. Remove it (JobQueue.RemoveScheduleAsync) or declare it again.", "note");
        }

        html.Raw("<div class=\"scroll\"><table class=\"schedules\"><thead><tr><th>Name</th><th>Ticks</th><th>Zone</th><th>Job</th><th>Next tick</th><th>Last tick</th><th>State</th>");
        if (!app.Options.ReadOnly)
        {
            html.Raw("<th>Action</th>");
        }

        html.Raw("</tr></thead><tbody>");
        foreach (var schedule in schedules)
        {
            html.Raw("<tr").Attr("data-schedule", schedule.Name).Raw(">");
            html.Element("td", schedule.Name, "name");
            html.Element("td", schedule.CronExpression is { } cron ? "cron " + cron : schedule.Interval is { } every ? "every " + Format.Duration(every) : "unreadable", "ticks");
            html.Element("td", schedule.TimeZoneId);
            html.Raw("<td class=\"job\">").Text(schedule.Kind).Raw(" <span class=\"queue\">in ").Text(schedule.Queue).Raw("</span></td>");
            JobListPage.TimeCell(html, schedule.Paused || schedule.Orphaned ? null : schedule.NextTick);
            html.Raw("<td>");
            if (schedule.LastTick is { } last)
            {
                html.Raw("<time").Attr("datetime", Format.IsoTime(last)).Raw(">").Text(Format.Time(last)).Raw("</time>");
                if (schedule.LastJobId is { } id)
                {
                    html.Raw(" ").Link(app.Link(context, $"jobs/{id}"), "#" + id);
                }
            }

            html.Raw("</td><td>");
            var (state, css) = schedule.Error is not null ? ("unreadable", "dead") : schedule.Orphaned ? ("orphaned", "failed") : schedule.Paused ? ("paused", "cancelled") : ("active", "succeeded");
            html.Element("span", state, "state state-" + css);
            if (schedule.Error is { } error)
            {
                html.Raw(" ").Element("span", error, "note");
            }

            html.Raw("</td>");
            if (!app.Options.ReadOnly)
            {
                html.Raw("<td>");
                Layout.ActionForm(
                    html, app, context, schedule.Paused ? "schedules/resume" : "schedules/pause", schedule.Paused ? "Resume" : "Pause", null, schedule.Paused ? "resume" : "pause",
                    fields => fields.Raw("<input type=\"hidden\" name=\"name\"").Attr("value", schedule.Name).Raw(">"));
                html.Raw("</td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</tbody></table></div>");
    }
}
