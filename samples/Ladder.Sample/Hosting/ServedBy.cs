using System.Globalization;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Says which host answered: every response (page, API, problem details) carries <see cref="Header"/> with the
/// machine name and the port the request came in on, so a page or a client behind several hosts can tell them apart.
/// </summary>
internal static class ServedBy
{
    public const string Header = "X-Ladder-Host";

    /// <summary>"machine:port" for the connection's local port (the real one, also when the host was started on port 0).</summary>
    public static string Name(HttpContext context)
        => string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{context.Connection.LocalPort}");

    /// <summary>First in the pipeline, so an error page or a problem answer says it too.</summary>
    public static void Use(IApplicationBuilder app)
        => app.Use(static (context, next) =>
        {
            // At the start of the response, not now: the exception handler clears the headers of a failed request
            // before it writes its problem answer, and that answer must say where it came from too.
            context.Response.OnStarting(static state =>
            {
                var http = (HttpContext)state;
                http.Response.Headers[Header] = Name(http);
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
}
