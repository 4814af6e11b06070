using System.Reflection;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Serves the page: three embedded files over the JSON API (no front-end build, no static-files folder). A player's
/// page, /players/{id}, is the same document: its script reads the path.
/// </summary>
internal static class WebPage
{
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "web/index.html", "text/html; charset=utf-8"),
        ("/app.js", "web/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "web/app.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var bytes = Load(resource);
            app.MapGet(path, () => Results.Bytes(bytes, contentType)).ExcludeFromDescription();
            if (path == "/")
            {
                app.MapGet("/players/{id:long}", () => Results.Bytes(bytes, contentType)).ExcludeFromDescription();
            }
        }
    }

    private static byte[] Load(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The page resource {resource} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
