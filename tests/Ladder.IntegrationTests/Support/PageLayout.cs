using OpenQA.Selenium;

namespace Ladder.IntegrationTests.Support;

/// <summary>
/// Layout checks on the page as Chromium laid it out: a viewport of a given width (a phone, a laptop), overlapping
/// boxes, anything past the right edge, and screenshots for the docs.
/// </summary>
public static class PageLayout
{
    /// <summary>
    /// The problems the script finds, at most 25: two boxes that overlap (lines of visible text, controls, links,
    /// table cells, list items, the chart), a box past the viewport's edges, a page wider than the viewport, a button
    /// that is not displayed, and a short word split over two lines (a table column squeezed below its longest word).
    /// Boxes of an element and of what it contains are not compared (a link in a cell is in it).
    /// </summary>
    private const string FindProblems = """
        const vw = document.documentElement.clientWidth;
        const problems = [];
        const shown = (el) => !el.closest('[hidden]') && el.getClientRects().length > 0
          && getComputedStyle(el).visibility !== 'hidden';
        const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
        const items = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          const owner = node.parentElement;
          if (!node.textContent.trim() || !owner || owner.closest('script, style, title') || !shown(owner)) continue;
          const range = document.createRange();
          range.selectNodeContents(node);
          for (const r of range.getClientRects()) {
            if (r.width > 0 && r.height > 0) items.push({ el: owner, r, what: 'text "' + node.textContent.trim().slice(0, 24) + '" in ' + name(owner) });
          }
          // A short word (letters and digits, no place to wrap in it) is never cut across two lines: 'pendin' over 'g'.
          // Whole words only: a longer one (a 24-letter name) may be broken where it must, and its first 16 letters
          // are not a short word.
          for (const word of node.textContent.matchAll(/(?<![A-Za-z0-9])[A-Za-z0-9]{2,16}(?![A-Za-z0-9])/g)) {
            const part = document.createRange();
            part.setStart(node, word.index);
            part.setEnd(node, word.index + word[0].length);
            const tops = new Set([...part.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
            if (tops.size > 1) problems.push('word "' + word[0] + '" split over ' + tops.size + ' lines in ' + name(owner));
          }
        }
        for (const el of document.querySelectorAll('button, select, input, a, svg, th, td, li, dt, dd, h1, h2, h3, p')) {
          if (!shown(el)) continue;
          // One box per line of an inline element: a link wrapped over two lines is two boxes, not the rectangle
          // around both, which would cover the text beside it.
          for (const r of el.getClientRects()) {
            if (r.width > 0 && r.height > 0) items.push({ el, r, what: name(el) });
          }
        }
        for (const el of document.querySelectorAll('button')) {
          if (!el.closest('[hidden]') && el.getClientRects().length === 0) problems.push('button not displayed: ' + el.textContent.trim());
        }
        if (document.documentElement.scrollWidth > vw + 1) problems.push('page is ' + document.documentElement.scrollWidth + ' px wide in a ' + vw + ' px viewport');
        for (const a of items) {
          if (a.r.left < -1 || a.r.right > vw + 1) problems.push(a.what + ' spans ' + Math.round(a.r.left) + '..' + Math.round(a.r.right) + ' px, past the ' + vw + ' px viewport');
        }
        for (let i = 0; i < items.length && problems.length < 25; i++) {
          for (let j = i + 1; j < items.length && problems.length < 25; j++) {
            const a = items[i], b = items[j];
            if (a.el === b.el || a.el.contains(b.el) || b.el.contains(a.el)) continue;
            const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
            const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
            if (w > 1 && h > 1) problems.push(a.what + ' overlaps ' + b.what + ' by ' + Math.round(w) + 'x' + Math.round(h) + ' px');
          }
        }
        return problems.slice(0, 25);
        """;

    public static IReadOnlyList<string> Problems(IWebDriver driver)
        => ((IJavaScriptExecutor)driver).ExecuteScript(FindProblems) is IEnumerable<object> list
            ? [.. list.Select(static p => p.ToString()!)]
            : throw new InvalidOperationException("The layout script returned nothing.");
}
