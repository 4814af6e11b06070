using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>The concurrency keys in use (key, limit, running, waiting) and the rate limits set (docs/jobs/concurrency.md).</summary>
internal static class ConcurrencyKeysPage
{
    /// <summary>How many keys the page lists (the busiest first).</summary>
    public const int MaxKeys = 500;

    public static void Render(Html html, IReadOnlyList<ConcurrencyKeyUsage> keys, IReadOnlyList<JobRateLimit> rates)
    {
        html.Element("h1", "Concurrency keys");
        html.Raw("<section><h2>Keys in use</h2>");
        if (keys.Count == 0)
        {
            html.Element("p", "No job with a concurrency key is running or waiting.", "note");
        }
        else
        {
            html.Raw("<div class=\"scroll\"><table class=\"keys\"><thead><tr><th>Key</th><th class=\"num\">Limit</th><th class=\"num\">Running</th><th class=\"num\">Waiting</th></tr></thead><tbody>");
            foreach (var key in keys)
            {
                html.Raw(key.Running >= key.Limit ? "<tr class=\"full\">" : "<tr>");
                html.Raw("<th scope=\"row\">").Text(key.Key).Raw("</th>");
                html.Raw("<td class=\"num\">").Text(Format.Number(key.Limit)).Raw("</td>");
                html.Raw("<td class=\"num\">").Text(Format.Number(key.Running)).Raw("</td>");
                html.Raw("<td class=\"num\">").Text(Format.Number(key.Waiting)).Raw("</td></tr>");
            }

            html.Raw("</tbody></table></div>");
            if (keys.Count == MaxKeys)
            {
                html.Element("p", $"The {MaxKeys} busiest keys are shown.", "note");
            }
        }

        html.Raw("</section><section><h2>Rate limits</h2>");
        if (rates.Count == 0)
        {
            html.Element("p", "No rate limit is set.", "note");
        }
        else
        {
            html.Raw("<div class=\"scroll\"><table class=\"rates\"><thead><tr><th>Scope</th><th>Name</th><th class=\"num\">Starts</th><th class=\"num\">Per</th></tr></thead><tbody>");
            foreach (var rate in rates)
            {
                html.Raw("<tr><td>").Text(rate.Scope == RateLimitScope.Queue ? "queue" : "key").Raw("</td><th scope=\"row\">").Text(rate.Name).Raw("</th>");
                html.Raw("<td class=\"num\">").Text(Format.Number(rate.MaxStarts)).Raw("</td><td class=\"num\">").Text(Format.Duration(rate.Window)).Raw("</td></tr>");
            }

            html.Raw("</tbody></table></div>");
        }

        html.Raw("</section>");
    }
}
