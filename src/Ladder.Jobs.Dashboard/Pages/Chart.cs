using System.Globalization;
using Ladder.Jobs.Dashboard.Internal;

namespace Ladder.Jobs.Dashboard.Pages;

/// <summary>
/// The counts chart: an inline SVG drawn on the server from the sampled totals, one line per state that work passes
/// through (succeeded only grows, so it would flatten the rest; its total is in the cards). No script, no library.
/// </summary>
internal static class Chart
{
    public static readonly JobState[] Series = [JobState.Ready, JobState.Scheduled, JobState.Running, JobState.Failed, JobState.Dead];

    private const int Width = 600;
    private const int Height = 160;

    public static void Render(Html html, IReadOnlyList<CountsHistory.Sample> samples)
    {
        html.Raw("<figure class=\"chart\">");
        if (samples.Count < 2)
        {
            html.Element("p", "The chart fills in while this page is open: a sample every poll interval (nothing is sampled while nobody looks).", "note");
            html.Raw("</figure>");
            return;
        }

        var first = samples[0].At;
        var span = Math.Max(1, (samples[^1].At - first).TotalMilliseconds);
        long max = 1;
        foreach (var sample in samples)
        {
            foreach (var state in Series)
            {
                max = Math.Max(max, sample.Totals[Index(state)]);
            }
        }

        html.Raw($"<svg viewBox=\"0 0 {Width} {Height}\" preserveAspectRatio=\"none\" role=\"img\" aria-labelledby=\"chart-title\">");
        html.Raw("<title id=\"chart-title\">").Text($"Jobs by state, {Format.Time(first)} to {Format.Time(samples[^1].At)}, at most {Format.Number(max)}").Raw("</title>");
        html.Raw($"<line class=\"axis\" x1=\"0\" y1=\"{Height}\" x2=\"{Width}\" y2=\"{Height}\" vector-effect=\"non-scaling-stroke\"/>");
        foreach (var state in Series)
        {
            html.Raw("<polyline").Attr("class", "series state-" + Format.StateName(state)).Raw(" fill=\"none\" vector-effect=\"non-scaling-stroke\" points=\"");
            foreach (var sample in samples)
            {
                var x = (sample.At - first).TotalMilliseconds / span * Width;
                // 4 px of headroom so a line at the maximum is not cut by the frame.
                var y = Height - (sample.Totals[Index(state)] / (double)max * (Height - 4));
                html.Raw(x.ToString("0.#", CultureInfo.InvariantCulture)).Raw(",").Raw(y.ToString("0.#", CultureInfo.InvariantCulture)).Raw(" ");
            }

            html.Raw("\"/>");
        }

        html.Raw("</svg><figcaption><ul class=\"legend\">");
        foreach (var state in Series)
        {
            html.Raw("<li><span").Attr("class", "swatch state-" + Format.StateName(state)).Raw("></span>")
                .Text(Format.StateName(state)).Raw(" ").Text(Format.Number(samples[^1].Totals[Index(state)])).Raw("</li>");
        }

        html.Raw("</ul><span class=\"note\">").Text($"{samples.Count} samples since {Format.Time(first)}; highest {Format.Number(max)}").Raw("</span></figcaption></figure>");
    }

    private static int Index(JobState state) => IndexOf(CountsHistory.AllStates, state);

    private static int IndexOf(IReadOnlyList<JobState> states, JobState state)
    {
        for (var i = 0; i < states.Count; i++)
        {
            if (states[i] == state)
            {
                return i;
            }
        }

        return -1;
    }
}
