using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>
/// The outcome of an action, carried by its redirect's query (post/redirect/get) and shown by the page it lands on only
/// when the query is the dashboard's own: the redirect appends <c>n</c>, the rest of the query protected by the app's
/// data protection (the keys anti-forgery uses) for a few minutes. Before, the pages showed whatever the query said, so
/// a crafted link (<c>?purged=5&amp;state=dead</c>) showed a purge, a pause or a retry that nobody had done.
/// </summary>
internal static class Notices
{
    private const string Purpose = "Ladder.Jobs.Dashboard.Notice.v1";

    // Long enough for a slow redirect, short enough that a copied link soon stops showing the notice.
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>The query <paramref name="query"/> (without '?'), with its protected copy appended.</summary>
    public static string Sign(HttpContext context, string query) =>
        Protector(context) is { } protector ? query + "&n=" + protector.Protect(query, Lifetime) : query;

    /// <summary>Whether the request's query is one the dashboard signed and that has not expired.</summary>
    public static bool Verified(HttpContext context)
    {
        var raw = context.Request.QueryString.Value;
        var at = raw?.LastIndexOf("&n=", StringComparison.Ordinal) ?? -1;
        if (raw is null || at < 1 || Protector(context) is not { } protector)
        {
            return false;
        }

        try
        {
            return string.Equals(protector.Unprotect(raw[(at + 3)..]), raw[1..at], StringComparison.Ordinal);
        }
        catch (CryptographicException)
        {
            return false; // Tampered, expired, or from other keys.
        }
    }

    private static ITimeLimitedDataProtector? Protector(HttpContext context) =>
        context.RequestServices.GetService<IDataProtectionProvider>()?.CreateProtector(Purpose).ToTimeLimitedDataProtector();
}
