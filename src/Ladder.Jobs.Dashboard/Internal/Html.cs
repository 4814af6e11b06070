using System.Globalization;
using System.Text;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>
/// Builds a page. Everything that is not a literal of this package goes through <see cref="Text(string?)"/> or
/// <see cref="Attr"/>, which HTML-encode it: payloads, errors, kinds, queue names and keys are user data.
/// </summary>
internal sealed class Html
{
    private readonly StringBuilder _builder = new(8 * 1024);

    /// <summary>Markup written by this package (never user data).</summary>
    public Html Raw(string markup)
    {
        _builder.Append(markup);
        return this;
    }

    /// <summary>Text content, encoded.</summary>
    public Html Text(string? text)
    {
        if (text is null)
        {
            return this;
        }

        // The five characters that end text or a quoted attribute (OWASP's rule for both contexts); everything else,
        // new lines and non-ASCII letters included, is safe there and stays readable in the page source.
        foreach (var c in text)
        {
            _ = c switch
            {
                '&' => _builder.Append("&amp;"),
                '<' => _builder.Append("&lt;"),
                '>' => _builder.Append("&gt;"),
                '"' => _builder.Append("&quot;"),
                '\'' => _builder.Append("&#39;"),
                _ => _builder.Append(c),
            };
        }

        return this;
    }

    public Html Text(long value) => Raw(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>An attribute, <c> name="value"</c>, its value encoded.</summary>
    public Html Attr(string name, string? value)
    {
        _builder.Append(' ').Append(name).Append("=\"");
        Text(value);
        _builder.Append('"');
        return this;
    }

    /// <summary>An element with encoded text content and an optional class.</summary>
    public Html Element(string tag, string? text, string? cssClass = null)
    {
        _builder.Append('<').Append(tag);
        if (cssClass is not null)
        {
            Attr("class", cssClass);
        }

        _builder.Append('>');
        Text(text);
        _builder.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>A link with encoded text and href.</summary>
    public Html Link(string href, string text, string? cssClass = null)
    {
        _builder.Append("<a");
        Attr("href", href);
        if (cssClass is not null)
        {
            Attr("class", cssClass);
        }

        _builder.Append('>');
        Text(text);
        _builder.Append("</a>");
        return this;
    }

    public override string ToString() => _builder.ToString();
}
