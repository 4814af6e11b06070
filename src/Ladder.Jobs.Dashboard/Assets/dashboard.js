// Ladder.Jobs dashboard: a confirmation before destructive actions, and the overview's refresh while it is visible.
// No framework; the pages work without it (the refresh is a convenience, the forms are plain HTML).
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  var pollMs = parseInt(document.body.getAttribute("data-poll-ms") || "0", 10);
  if (!pollMs) {
    return;
  }

  // Replaces <main> with a fresh copy of the page; skipped while the tab is hidden (so nobody looking costs nothing)
  // or while the user is in a form field (a refresh would drop what they picked).
  function refresh() {
    var main = document.getElementById("main");
    var active = document.activeElement;
    if (document.hidden || !main || (active && main.contains(active) && active.matches("input, select, textarea, button"))) {
      return;
    }

    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (!text) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
        if (fresh) { main.replaceWith(fresh); }
      })
      .catch(function () { /* the next tick tries again */ });
  }

  window.setInterval(refresh, pollMs);
})();
