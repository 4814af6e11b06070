using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>Jobs in one state, filtered by queue, kind or unique key, with keyset paging (stable while jobs move).</summary>
internal static class JobListPage
{
    public static void Render(
        Html html, DashboardApp app, HttpContext context, JobListQuery query, IReadOnlyDictionary<JobState, long> totals, IEnumerable<string> queues, JobPage page)
    {
        html.Element("h1", "Jobs");
        html.Raw("<nav class=\"tabs\" aria-label=\"States\">");
        foreach (var state in CountsHistory.AllStates)
        {
            html.Raw("<a").Attr("href", app.Link(context, "jobs" + (query with { State = state, AfterId = null }).ToQueryString()));
            if (state == query.State)
            {
                html.Raw(" aria-current=\"page\"");
            }

            html.Raw(">").Text(Format.StateName(state)).Raw(" ").Element("span", Format.Number(totals.GetValueOrDefault(state)), "count").Raw("</a>");
        }

        html.Raw("</nav>");

        html.Raw("<form class=\"filters\" method=\"get\"").Attr("action", app.Link(context, "jobs")).Raw(">");
        html.Raw("<input type=\"hidden\" name=\"state\"").Attr("value", Format.StateName(query.State)).Raw(">");
        html.Raw("<label>Queue <select name=\"queue\"><option value=\"\">all</option>");
        foreach (var name in queues.Append(query.Queue ?? "").Where(static q => q.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            html.Raw("<option").Attr("value", name);
            if (name == query.Queue)
            {
                html.Raw(" selected");
            }

            html.Raw(">").Text(name).Raw("</option>");
        }

        html.Raw("</select></label>");
        html.Raw("<label>Kind <input type=\"search\" name=\"kind\" placeholder=\"exact kind\"").Attr("value", query.Kind).Raw("></label>");
        html.Raw("<label>Unique key <input type=\"search\" name=\"key\" placeholder=\"starts with\"").Attr("value", query.UniqueKey).Raw("></label>");
        html.Raw("<button type=\"submit\">Search</button></form>");
        if (query.Searches)
        {
            html.Element("p", $"The counts by state are of {(query.Queue is null ? "every queue" : "queue " + query.Queue)}, not narrowed by the kind or unique-key search.", "note counts-scope");
        }

        if (page.Jobs.Count == 0)
        {
            html.Element("p", query.AfterId is null ? $"No {Format.StateName(query.State)} jobs match." : "No more jobs.", "note empty");
        }
        else
        {
            RenderTable(html, app, context, query.State, page.Jobs);
        }

        html.Raw("<nav class=\"pager\" aria-label=\"Pages\">");
        if (query.AfterId is not null)
        {
            html.Link(app.Link(context, "jobs" + (query with { AfterId = null }).ToQueryString()), "« First page");
        }

        if (page.NextAfterId is { } next)
        {
            html.Link(app.Link(context, "jobs" + (query with { AfterId = next }).ToQueryString()), "Next page »", "next");
        }

        html.Raw("</nav>");
    }

    private static void RenderTable(Html html, DashboardApp app, HttpContext context, JobState state, IReadOnlyList<JobSummary> jobs)
    {
        // One time column besides Created, the one that matters in this state: when it may run, when it started, when it ended.
        var (whenTitle, when) = state switch
        {
            JobState.Running => ("Started", (Func<JobSummary, DateTimeOffset?>)(static j => j.StartedAt)),
            JobState.Succeeded or JobState.Dead or JobState.Cancelled => ("Finished", static j => j.FinishedAt),
            _ => ("Run at", static j => j.RunAt),
        };
        html.Raw("<div class=\"scroll\"><table class=\"jobs\"><thead><tr><th>Job</th><th>Queue</th><th>Kind</th><th class=\"num\">Attempts</th>"
            + "<th>Unique key</th><th>Created</th><th>").Text(whenTitle).Raw("</th><th>Last error</th></tr></thead><tbody>");
        foreach (var job in jobs)
        {
            html.Raw("<tr").Attr("data-job-id", job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Raw("><td>")
                .Link(app.Link(context, $"jobs/{job.Id}"), "#" + job.Id).Raw("</td>");
            html.Element("td", job.Queue).Element("td", job.Kind, "kind");
            html.Raw("<td class=\"num\">").Text(job.Attempts).Raw(" / ").Text(job.MaxAttempts).Raw("</td>");
            html.Element("td", job.UniqueKey, "key");
            TimeCell(html, job.CreatedAt);
            TimeCell(html, when(job));
            html.Element("td", Shorten(job.LastError, 160), "error");
            html.Raw("</tr>");
        }

        html.Raw("</tbody></table></div>");
    }

    public static void TimeCell(Html html, DateTimeOffset? at)
    {
        html.Raw("<td>");
        if (at is { } value)
        {
            html.Raw("<time").Attr("datetime", Format.IsoTime(value)).Raw(">").Text(Format.Time(value)).Raw("</time>");
        }

        html.Raw("</td>");
    }

    private static string? Shorten(string? text, int length) => text is null || text.Length <= length ? text : string.Concat(text.AsSpan(0, length), "…");
}

/// <summary>The job list's filters, read from and written to the query string.</summary>
internal sealed record JobListQuery(JobState State, string? Queue, string? Kind, string? UniqueKey, long? AfterId)
{
    /// <summary>The filters of a query string, or why it has none: an unknown state, or a page cursor that is not a job id.</summary>
    public static JobListQuery? Parse(IQueryCollection query, out JobListError error)
    {
        error = JobListError.None;
        var state = JobState.Ready;
        if (query["state"] is { Count: > 0 } given && !Format.TryParseState(given, out state))
        {
            error = JobListError.UnknownState;
            return null;
        }

        // A cursor is the last job id of the page before; an empty one is the first page. Anything else is refused
        // rather than read as the first page, which would look like paging that went back to the start.
        long? after = null;
        if (Blank(query["after"]) is { } cursor)
        {
            if (!long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id <= 0)
            {
                error = JobListError.BadCursor;
                return null;
            }

            after = id;
        }

        return new JobListQuery(state, Blank(query["queue"]), Blank(query["kind"]), Blank(query["key"]), after);
    }

    /// <summary>Whether a search by kind or unique key narrows the list (the counts by state follow the queue only).</summary>
    public bool Searches => Kind is not null || UniqueKey is not null;

    public string ToQueryString()
    {
        var parts = new List<string> { "state=" + Format.StateName(State) };
        Add(parts, "queue", Queue);
        Add(parts, "kind", Kind);
        Add(parts, "key", UniqueKey);
        Add(parts, "after", AfterId?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return "?" + string.Join('&', parts);
    }

    private static void Add(List<string> parts, string name, string? value)
    {
        if (value is not null)
        {
            parts.Add(name + "=" + Uri.EscapeDataString(value));
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Why a job list's query string was refused.</summary>
internal enum JobListError
{
    None,
    UnknownState,
    BadCursor,
}
