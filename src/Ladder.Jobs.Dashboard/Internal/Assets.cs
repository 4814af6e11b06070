using System.Security.Cryptography;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>The dashboard's CSS and JS, embedded in the assembly and linked with a content hash (so they can be cached for good).</summary>
internal static class Assets
{
    public static readonly Asset Css = Load("dashboard.css", "text/css; charset=utf-8");

    public static readonly Asset Js = Load("dashboard.js", "text/javascript; charset=utf-8");

    public static Asset? Find(string name) => name == Css.Name ? Css : name == Js.Name ? Js : null;

    private static Asset Load(string name, string contentType)
    {
        var resource = "ladder-jobs-dashboard/" + name;
        using var stream = typeof(Assets).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The dashboard asset {resource} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        var version = Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 6));
        return new Asset(name, contentType, bytes, version);
    }

    internal sealed record Asset(string Name, string ContentType, byte[] Bytes, string Version);
}
