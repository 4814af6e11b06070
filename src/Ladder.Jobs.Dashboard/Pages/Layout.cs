using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>The frame of every page (header, navigation, footer, security headers) and the action forms.</summary>
internal static class Layout
{
    /// <summary>
    /// The navigation, in order. A page (schedules; concurrency keys, issue #14) is one
    /// more entry here and one more route in DashboardApp.Routes, behind the same authorization filter.
    /// </summary>
    private static readonly (string Key, string Title, string Path)[] Navigation =
    [
        ("overview", "Overview", ""),
        ("jobs", "Jobs", "jobs"),
        ("schedules", "Schedules", "schedules"),
        ("keys", "Keys", "keys"),
    ];

    // No inline script or style anywhere, so the policy can forbid both: an injected <script> would not run even if
    // encoding were ever missed somewhere.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static IResult Page(DashboardApp app, HttpContext context, string current, string title, Action<Html> body, int statusCode = StatusCodes.Status200OK, bool poll = false)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";

        var html = new Html();
        html.Raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.Raw("<title>").Text(title).Raw(" · ").Text(app.Options.Title).Raw("</title>");
        html.Raw("<link rel=\"stylesheet\"").Attr("href", app.Link(context, $"assets/{Assets.Css.Name}?v={Assets.Css.Version}")).Raw("></head>");
        html.Raw("<body");
        if (poll)
        {
            html.Attr("data-poll-ms", ((long)app.Options.PollInterval.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        html.Raw("><header class=\"top\"><a class=\"brand\"").Attr("href", app.Link(context, "")).Raw(">").Text(app.Options.Title).Raw("</a><nav>");
        foreach (var (key, navTitle, path) in Navigation)
        {
            html.Raw("<a").Attr("href", app.Link(context, path));
            if (key == current)
            {
                html.Raw(" aria-current=\"page\"");
            }

            html.Raw(">").Text(navTitle).Raw("</a>");
        }

        html.Raw("</nav>");
        if (app.Options.ReadOnly)
        {
            html.Element("span", "read-only", "badge readonly");
        }

        html.Raw("</header><main id=\"main\">");
        body(html);
        html.Raw("</main><footer>");
        html.Text("Store: ").Text(StoreName(DashboardApp.Queue(context)));
        if (app.Options.PageNote?.Invoke(context) is { Length: > 0 } note)
        {
            html.Text(" · ").Element("span", note, "page-note");
        }
        html.Raw("</footer><script").Attr("src", app.Link(context, $"assets/{Assets.Js.Name}?v={Assets.Js.Version}")).Raw(" defer></script></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", statusCode: statusCode);
    }

    /// <summary>A POST form with one button and the anti-forgery token; <paramref name="fields"/> adds inputs before the button.</summary>
    public static void ActionForm(Html html, DashboardApp app, HttpContext context, string action, string button, string? confirm, string cssClass, Action<Html>? fields = null)
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        html.Raw("<form method=\"post\"").Attr("class", "action " + cssClass).Attr("action", app.Link(context, action));
        if (confirm is not null)
        {
            html.Attr("data-confirm", confirm);
        }

        html.Raw("><input type=\"hidden\"").Attr("name", tokens.FormFieldName).Attr("value", tokens.RequestToken).Raw(">");
        fields?.Invoke(html);
        html.Raw("<button type=\"submit\">").Text(button).Raw("</button></form>");
    }

    public static void Notice(Html html, string? text, bool good = true)
    {
        if (text is not null)
        {
            html.Raw("<p role=\"status\"").Attr("class", good ? "notice good" : "notice bad").Raw(">").Text(text).Raw("</p>");
        }
    }

    public static void StateBadge(Html html, JobState state) => html.Element("span", Format.StateName(state), "state state-" + Format.StateName(state));

    // The store's own description: a file for SQLite, a server and database for PostgreSQL.
    private static string StoreName(JobQueue queue) => queue.Store.Location;
}
