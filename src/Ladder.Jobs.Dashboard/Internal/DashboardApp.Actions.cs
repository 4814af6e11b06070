using System.Globalization;
using Ladder.Jobs.Dashboard.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>
/// The actions: POST forms (anti-forgery checked by the group's filter), answered with a redirect to the page that shows
/// the outcome (post/redirect/get, so a reload never repeats an action).
/// </summary>
internal sealed partial class DashboardApp
{
    /// <summary>The ages a purge offers, in the form and accepted from it: "all" and a few round ones.</summary>
    public static readonly (string Value, string Label, TimeSpan Age)[] PurgeAges =
    [
        ("0", "all of them", TimeSpan.Zero),
        ("1h", "older than 1 hour", TimeSpan.FromHours(1)),
        ("1d", "older than 1 day", TimeSpan.FromDays(1)),
        ("7d", "older than 7 days", TimeSpan.FromDays(7)),
        ("30d", "older than 30 days", TimeSpan.FromDays(30)),
    ];

    public static readonly JobState[] PurgeableStates = [JobState.Succeeded, JobState.Dead, JobState.Cancelled];

    private async Task<IResult> RetryAsync(HttpContext context, long id)
    {
        var retried = await Queue(context).RetryAsync(id, context.RequestAborted).ConfigureAwait(false);
        Log.JobAction(Logger, "retry", id, User(context), Address(context), retried ? "ready again" : "not retried");
        return SeeOther(context, Link(context, $"jobs/{id}?" + Notices.Sign(context, $"done={(retried ? "retried" : "not-retried")}")));
    }

    private async Task<IResult> CancelAsync(HttpContext context, long id)
    {
        var cancelled = await Queue(context).CancelAsync(id, context.RequestAborted).ConfigureAwait(false);
        Log.JobAction(Logger, "cancel", id, User(context), Address(context), cancelled ? "cancelled" : "not cancelled");
        return SeeOther(context, Link(context, $"jobs/{id}?" + Notices.Sign(context, $"done={(cancelled ? "cancelled" : "not-cancelled")}")));
    }

    private async Task<IResult> PurgeAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        if (!Enum.TryParse<JobState>(form["state"], ignoreCase: true, out var state) || !PurgeableStates.Contains(state))
        {
            return Results.Text("Purge needs a state: succeeded, dead or cancelled.", statusCode: StatusCodes.Status400BadRequest);
        }

        var age = PurgeAges.FirstOrDefault(a => a.Value == form["age"]);
        if (age.Value is null)
        {
            return Results.Text("Purge needs an age: " + string.Join(", ", PurgeAges.Select(a => a.Value)) + ".", statusCode: StatusCodes.Status400BadRequest);
        }

        // Not the request's token: a purge of many jobs commits batch by batch, and stopping halfway because the browser
        // gave up would leave the operator not knowing what was done. It is bounded by the table's size.
        var purged = await Queue(context).PurgeAsync(state, age.Age, CancellationToken.None).ConfigureAwait(false);
        Log.Purged(Logger, purged, state, age.Age, User(context), Address(context));
        return SeeOther(context, Link(context, "?" + Notices.Sign(context, $"purged={purged.ToString(CultureInfo.InvariantCulture)}&state={Format.StateName(state)}")));
    }

    // 303: the browser follows with a GET whatever the method was.
    private static IResult SeeOther(HttpContext context, string location)
    {
        context.Response.Headers.Location = location;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static string User(HttpContext context) => context.User.Identity?.Name ?? "(anonymous)";

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "(no address)";
}
