using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>The overview: totals by state, the counts chart, queues by state, and the purge form.</summary>
internal static class OverviewPage
{
    public static void Render(Html html, DashboardApp app, HttpContext context, CountsHistory.Reading reading, IReadOnlyList<CountsHistory.Sample> samples)
    {
        html.Element("h1", "Overview");
        if (Notices.Verified(context) && int.TryParse(context.Request.Query["purged"], out var purged) && Format.TryParseState(context.Request.Query["state"], out var purgedState))
        {
            Layout.Notice(html, $"Purged {Format.Number(purged)} {Format.StateName(purgedState)} jobs.");
        }

        html.Raw("<section class=\"cards\" aria-label=\"Jobs by state\">");
        for (var i = 0; i < CountsHistory.AllStates.Count; i++)
        {
            var state = CountsHistory.AllStates[i];
            html.Raw("<a").Attr("class", "card state-" + Format.StateName(state)).Attr("href", app.Link(context, "jobs?state=" + Format.StateName(state))).Raw(">");
            html.Element("span", Format.StateName(state), "label").Element("span", Format.Number(reading.Totals[i]), "count").Raw("</a>");
        }

        html.Raw("</section>");
        if (reading.ReusedFor > app.Options.PollInterval)
        {
            // Many jobs: the count is slow, so it is read less often than the page polls (CountsHistory.ReuseFactor).
            html.Element(
                "p",
                $"Counted at {Format.Time(reading.At)} in {Format.Duration(reading.Took)}; with this many jobs the counts are read again at most every {Format.Duration(reading.ReusedFor)}.",
                "note counts-age");
        }

        html.Raw("<section><h2>Counts over time</h2>");
        Chart.Render(html, samples);
        html.Raw("</section><section><h2>Queues</h2>");
        RenderQueues(html, app, context, reading.Counts);
        html.Raw("</section>");

        if (!app.Options.ReadOnly)
        {
            html.Raw("<section><h2>Purge finished jobs</h2>");
            Layout.ActionForm(html, app, context, "purge", "Purge", "Delete these jobs for good?", "purge", fields: f =>
            {
                f.Raw("<label>State <select name=\"state\">");
                foreach (var state in DashboardApp.PurgeableStates)
                {
                    f.Raw("<option").Attr("value", Format.StateName(state)).Raw(">").Text(Format.StateName(state)).Raw("</option>");
                }

                f.Raw("</select></label><label>Jobs <select name=\"age\">");
                foreach (var (value, label, _) in DashboardApp.PurgeAges)
                {
                    f.Raw("<option").Attr("value", value).Raw(">").Text(label).Raw("</option>");
                }

                f.Raw("</select></label>");
            });
            html.Raw("</section>");
        }
    }

    private static void RenderQueues(Html html, DashboardApp app, HttpContext context, IReadOnlyList<QueueStateCount> counts)
    {
        if (counts.Count == 0)
        {
            html.Element("p", "No jobs yet.", "note");
            return;
        }

        html.Raw("<div class=\"scroll\"><table class=\"queues\"><thead><tr><th>Queue</th>");
        foreach (var state in CountsHistory.AllStates)
        {
            html.Raw("<th class=\"num\">").Text(Format.StateName(state)).Raw("</th>");
        }

        html.Raw("</tr></thead><tbody>");
        foreach (var group in counts.GroupBy(static c => c.Queue, StringComparer.Ordinal).OrderBy(static g => g.Key, StringComparer.Ordinal))
        {
            html.Raw("<tr><th scope=\"row\">").Text(group.Key).Raw("</th>");
            foreach (var state in CountsHistory.AllStates)
            {
                var count = group.Where(c => c.State == state).Sum(static c => c.Count);
                html.Raw("<td class=\"num\">");
                if (count > 0)
                {
                    html.Link(app.Link(context, $"jobs?state={Format.StateName(state)}&queue={Uri.EscapeDataString(group.Key)}"), Format.Number(count));
                }
                else
                {
                    html.Raw("<span class=\"zero\">0</span>");
                }

                html.Raw("</td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</tbody></table></div>");
    }
}
