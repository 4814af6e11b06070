using Ladder.Jobs.Dashboard.Pages;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>The pages and their JSON twins: each reads through JobQueue's public API only, so every store works.</summary>
internal sealed partial class DashboardApp
{
    private async Task<IResult> OverviewPageAsync(HttpContext context)
    {
        var reading = await History.ReadAsync(Queue(context), context.RequestAborted).ConfigureAwait(false);
        var samples = History.Samples();
        return Layout.Page(this, context, "overview", "Overview", html => OverviewPage.Render(html, this, context, reading, samples), poll: true);
    }

    private async Task<IResult> OverviewJsonAsync(HttpContext context)
    {
        var reading = await History.ReadAsync(Queue(context), context.RequestAborted).ConfigureAwait(false);
        return Results.Json(
            new
            {
                at = reading.At,
                countedInMs = reading.Took.TotalMilliseconds,
                reusedForMs = reading.ReusedFor.TotalMilliseconds,
                totals = Totals(reading.Totals),
                queues = reading.Counts,
                samples = History.Samples().Select(static s => new { at = s.At, totals = Totals(s.Totals) }),
            },
            Json);
    }

    private async Task<IResult> JobListPageAsync(HttpContext context)
    {
        if (JobListQuery.Parse(context.Request.Query, out var error) is not { } query)
        {
            return BadQuery(context, error);
        }

        var queue = Queue(context);
        var page = await ListAsync(queue, query, context.RequestAborted).ConfigureAwait(false);
        var totals = await queue.GetTotalsAsync(query.Queue, context.RequestAborted).ConfigureAwait(false);
        var queues = (await History.ReadAsync(queue, context.RequestAborted).ConfigureAwait(false)).Counts.Select(static c => c.Queue);
        return Layout.Page(this, context, "jobs", $"Jobs: {Format.StateName(query.State)}", html => JobListPage.Render(html, this, context, query, totals, queues, page));
    }

    private async Task<IResult> JobListJsonAsync(HttpContext context)
    {
        if (JobListQuery.Parse(context.Request.Query, out var error) is not { } query)
        {
            var message = error == JobListError.BadCursor ? BadCursorMessage : "unknown state";
            return Results.Json(new { error = message }, Json, statusCode: StatusCodes.Status400BadRequest);
        }

        return Results.Json(await ListAsync(Queue(context), query, context.RequestAborted).ConfigureAwait(false), Json);
    }

    private const string JobIdRule = "a whole number, from 1 to 9223372036854775807";

    private const string BadCursorMessage = $"'after' must be the id of a job ({JobIdRule}), or empty for the first page";

    private async Task<IResult> JobPageAsync(HttpContext context, long id)
    {
        if (await Queue(context).GetJobAsync(id, context.RequestAborted).ConfigureAwait(false) is not { } details)
        {
            return NotePage(context, "Not found", $"No job #{id}", "It was never enqueued, or it finished and was purged (retention or a purge).", StatusCodes.Status404NotFound);
        }

        return Layout.Page(this, context, "jobs", $"Job #{id}", html => JobDetailsPage.Render(html, this, context, details));
    }

    private async Task<IResult> JobJsonAsync(HttpContext context, long id) =>
        await Queue(context).GetJobAsync(id, context.RequestAborted).ConfigureAwait(false) is { } details
            ? Results.Json(details, Json)
            : Results.Json(new { error = $"no job {id}" }, Json, statusCode: StatusCodes.Status404NotFound);

    // A segment that is not a job id (the routes above take only a long): the dashboard's own 404, with its headers,
    // rather than the app's bare one. Its route is tried after every other, so an app route beside a dashboard mounted
    // at the root still gets its own paths.
    private IResult NotAJobIdPage(HttpContext context, string id) =>
        NotePage(context, "Not found", $"No job '{id}'", $"A job id is {JobIdRule}.", StatusCodes.Status404NotFound);

    private static IResult NotAJobIdJson(string id) =>
        Results.Json(new { error = $"'{id}' is not a job id: a job id is {JobIdRule}" }, Json, statusCode: StatusCodes.Status404NotFound);

    // The store filters by kind (exact) and unique-key prefix, so a search pages like any list.
    private Task<JobPage> ListAsync(JobQueue queue, JobListQuery query, CancellationToken cancellationToken) =>
        queue.GetJobsAsync(new JobQuery(query.State, query.Queue, query.Kind, query.UniqueKey, query.AfterId, Options.PageSize), cancellationToken);

    private IResult BadQuery(HttpContext context, JobListError error) => error == JobListError.BadCursor
        ? NotePage(context, "Bad page cursor", "Bad page cursor", char.ToUpperInvariant(BadCursorMessage[0]) + BadCursorMessage[1..] + ".", StatusCodes.Status400BadRequest)
        : NotePage(context, "Unknown state", "Unknown state", "States: " + string.Join(", ", CountsHistory.AllStates.Select(Format.StateName)) + ".", StatusCodes.Status400BadRequest);

    /// <summary>A page of the jobs section that is only a heading and a note: a refusal or a job that is not there.</summary>
    private IResult NotePage(HttpContext context, string title, string heading, string note, int statusCode) =>
        Layout.Page(this, context, "jobs", title, html =>
        {
            html.Element("h1", heading);
            html.Element("p", note, "note");
        }, statusCode);

    private static Dictionary<string, long> Totals(long[] totals)
    {
        var named = new Dictionary<string, long>(totals.Length, StringComparer.Ordinal);
        for (var i = 0; i < totals.Length; i++)
        {
            named[Format.StateName(CountsHistory.AllStates[i])] = totals[i];
        }

        return named;
    }
}
