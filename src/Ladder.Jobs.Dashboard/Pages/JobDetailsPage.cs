using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>One job: its fields, timing, payload, attempts with errors and stacks, and the actions its state allows.</summary>
internal static class JobDetailsPage
{
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        // The text is HTML-encoded when written into the page; here it only has to stay readable (no \u escapes of accents).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Render(Html html, DashboardApp app, HttpContext context, JobDetails details)
    {
        var job = details.Summary;
        html.Raw("<h1>").Text("Job #" + job.Id).Raw(" ");
        Layout.StateBadge(html, job.State);
        html.Raw("</h1>");
        RenderNotice(html, Notices.Verified(context) ? context.Request.Query["done"].ToString() : null);

        if (!app.Options.ReadOnly)
        {
            html.Raw("<div class=\"actions\">");
            if (job.State is JobState.Dead or JobState.Cancelled or JobState.Failed)
            {
                Layout.ActionForm(html, app, context, $"jobs/{job.Id}/retry", "Retry now", null, "retry");
            }

            if (job.State is JobState.Scheduled or JobState.Ready or JobState.Failed or JobState.Running)
            {
                Layout.ActionForm(html, app, context, $"jobs/{job.Id}/cancel", "Cancel", "Cancel this job?", "cancel");
            }

            html.Raw("</div>");
        }

        html.Raw("<div class=\"panels\"><section><h2>Job</h2><dl>");
        Item(html, "Queue", job.Queue);
        Item(html, "Kind", job.Kind);
        Item(html, "State", Format.StateName(job.State));
        Item(html, "Priority", job.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Item(html, "Attempts", $"{job.Attempts} of {job.MaxAttempts}");
        Item(html, "Rescues", job.Rescues.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Item(html, "Unique key", job.UniqueKey ?? "none");
        Item(html, "Timeout", details.Timeout is { } timeout ? Format.Duration(timeout) : "the queue's default");
        html.Raw("</dl></section><section><h2>Timing</h2><dl>");
        Item(html, "Created", Format.Time(job.CreatedAt));
        Item(html, "Run at", Format.Time(job.RunAt));
        Item(html, "Started", job.StartedAt is { } started ? Format.Time(started) : "not yet");
        Item(html, "Finished", job.FinishedAt is { } finished ? Format.Time(finished) : "not yet");
        if (job.StartedAt is { } s)
        {
            // Waited: from the time it could run to its last start; ran: its last attempt.
            Item(html, "Waited", Format.Duration(s - (job.RunAt < s ? job.RunAt : job.CreatedAt)));
            if (job.FinishedAt is { } f && f >= s)
            {
                Item(html, "Ran", Format.Duration(f - s));
            }
        }

        html.Raw("</dl></section></div>");

        if (job.LastError is not null)
        {
            html.Raw("<section><h2>Last error</h2><pre class=\"error\">").Text(job.LastError).Raw("</pre></section>");
        }

        html.Raw("<section><h2>Payload</h2><pre class=\"payload\">").Text(Pretty(details.PayloadJson)).Raw("</pre></section>");
        RenderAttempts(html, details.Attempts);
    }

    private static void RenderAttempts(Html html, IReadOnlyList<JobAttempt> attempts)
    {
        html.Raw("<section><h2>Attempts that did not succeed</h2>");
        if (attempts.Count == 0)
        {
            html.Element("p", "None recorded (a successful attempt is the job's own start and finish).", "note");
            html.Raw("</section>");
            return;
        }

        html.Raw("<ol class=\"attempts\">");
        foreach (var attempt in attempts)
        {
            html.Raw("<li><div class=\"attempt-head\">").Element("strong", "Attempt " + attempt.Attempt).Raw(" ");
            html.Element("span", attempt.Outcome, "outcome outcome-" + attempt.Outcome).Raw(" ");
            html.Element("span", (attempt.StartedAt is { } at ? Format.Time(at) + " → " : "") + Format.Time(attempt.FinishedAt)
                + (attempt.StartedAt is { } st ? $" ({Format.Duration(attempt.FinishedAt - st)})" : ""), "when");
            html.Raw("</div>");
            if (attempt.ErrorType is not null || attempt.ErrorMessage is not null)
            {
                html.Raw("<pre class=\"error\">").Text(attempt.ErrorType).Text(attempt.ErrorType is not null && attempt.ErrorMessage is not null ? ": " : "")
                    .Text(attempt.ErrorMessage).Raw("</pre>");
            }

            if (attempt.ErrorStack is not null)
            {
                html.Raw("<details><summary>Stack trace</summary><pre class=\"stack\">").Text(attempt.ErrorStack).Raw("</pre></details>");
            }

            html.Raw("</li>");
        }

        html.Raw("</ol></section>");
    }

    private static void RenderNotice(Html html, string? done)
    {
        switch (done)
        {
            case "retried": Layout.Notice(html, "Queued again: it runs now, its attempts and rescues reset."); break;
            case "not-retried": Layout.Notice(html, "Not retried: only a dead, cancelled or failed job can be (a cancelled run whose handler still holds its lease cannot yet).", good: false); break;
            case "cancelled": Layout.Notice(html, "Cancelled."); break;
            case "not-cancelled": Layout.Notice(html, "Not cancelled: it had already finished.", good: false); break;
            default: break;
        }
    }

    private static void Item(Html html, string term, string value) => html.Element("dt", term).Element("dd", value);

    /// <summary>The payload indented; the text as stored if it is not JSON (it is shown either way, encoded).</summary>
    public static string Pretty(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, Indented))
            {
                document.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
