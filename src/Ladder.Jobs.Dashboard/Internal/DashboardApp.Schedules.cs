using Ladder.Jobs.Dashboard.Diagnostics;
using Ladder.Jobs.Dashboard.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>The schedules page, its JSON twin, and pause/resume (actions: read-only and anti-forgery checked by the group's filter).</summary>
internal sealed partial class DashboardApp
{
    private void MapSchedules(IEndpointRouteBuilder pages, IEndpointRouteBuilder actions)
    {
        pages.MapGet("/schedules", (Func<HttpContext, Task<IResult>>)SchedulesPageAsync);
        pages.MapGet("/api/schedules", (Func<HttpContext, Task<IResult>>)SchedulesJsonAsync);
        actions.MapPost("/schedules/pause", (Func<HttpContext, Task<IResult>>)(context => SetPausedAsync(context, paused: true)));
        actions.MapPost("/schedules/resume", (Func<HttpContext, Task<IResult>>)(context => SetPausedAsync(context, paused: false)));
    }

    private async Task<IResult> SchedulesPageAsync(HttpContext context)
    {
        var schedules = await Queue(context).GetSchedulesAsync(context.RequestAborted).ConfigureAwait(false);
        return Layout.Page(this, context, "schedules", "Schedules", html => SchedulesPage.Render(html, this, context, schedules));
    }

    private async Task<IResult> SchedulesJsonAsync(HttpContext context) =>
        Results.Json(await Queue(context).GetSchedulesAsync(context.RequestAborted).ConfigureAwait(false), Json);

    private async Task<IResult> SetPausedAsync(HttpContext context, bool paused)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var name = form["name"].ToString();
        if (string.IsNullOrWhiteSpace(name))
        {
            return Results.Text("Pause and resume need a schedule name.", statusCode: StatusCodes.Status400BadRequest);
        }

        var queue = Queue(context);
        var found = paused
            ? await queue.PauseScheduleAsync(name, context.RequestAborted).ConfigureAwait(false)
            : await queue.ResumeScheduleAsync(name, context.RequestAborted).ConfigureAwait(false);
        var action = paused ? "pause" : "resume";
        Log.ScheduleAction(Logger, action, name, User(context), Address(context), found ? (paused ? "paused" : "resumed") : "no such schedule");
        return SeeOther(context, Link(context, "schedules?" + Notices.Sign(context, $"done={(found ? (paused ? "paused" : "resumed") : "missing")}&name={Uri.EscapeDataString(name)}")));
    }
}
