// Returns what is wrong with the page's layout: elements whose visible boxes overlap (neither inside the other), and
// a page wider than the viewport (sideways scrolling). A box is clipped by its scrolling ancestors first: a wide table
// in its own scroll box is fine, as long as what shows does not overlap.
(function () {
  var selector = "header a, .badge, h1, h2, p, .card, figure.chart svg, .legend li, th, td, label, input, select, button, nav.tabs a, nav.pager a, dt, dd, pre, summary, .attempt-head > *, footer";
  var elements = Array.from(new Set(document.querySelectorAll(selector)));
  function visibleBox(e) {
    var r = e.getBoundingClientRect();
    var box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    for (var p = e.parentElement; p; p = p.parentElement) {
      var s = getComputedStyle(p);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        var q = p.getBoundingClientRect();
        box = { l: Math.max(box.l, q.left), t: Math.max(box.t, q.top), r: Math.min(box.r, q.right), b: Math.min(box.b, q.bottom) };
      }
    }
    return box;
  }
  function name(e) {
    return e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "")
      + " '" + (e.textContent || "").trim().slice(0, 30) + "'";
  }
  var boxes = elements
    .filter(function (e) { var s = getComputedStyle(e); return s.visibility !== "hidden" && s.display !== "none"; })
    .map(function (e) { return { e: e, b: visibleBox(e) }; })
    .filter(function (x) { return x.b.r - x.b.l > 1 && x.b.b - x.b.t > 1; });
  var problems = [];
  for (var i = 0; i < boxes.length; i++) {
    for (var j = i + 1; j < boxes.length; j++) {
      var a = boxes[i], c = boxes[j];
      if (a.e.contains(c.e) || c.e.contains(a.e)) { continue; }
      var w = Math.min(a.b.r, c.b.r) - Math.max(a.b.l, c.b.l);
      var h = Math.min(a.b.b, c.b.b) - Math.max(a.b.t, c.b.t);
      // More than a pixel each way: collapsed table borders and sub-pixel rounding touch, they do not overlap.
      if (w > 1.5 && h > 1.5) {
        problems.push("overlap: " + name(a.e) + " and " + name(c.e) + " (" + Math.round(w) + "x" + Math.round(h) + " px)");
      }
    }
  }
  var width = document.documentElement.scrollWidth;
  if (width > window.innerWidth + 1) {
    problems.push("the page is " + width + " px wide in a " + window.innerWidth + " px viewport");
  }
  return { problems: problems.slice(0, 20), checked: boxes.length, viewport: window.innerWidth };
})();
