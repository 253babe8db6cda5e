/* The alert page's delivery section, live (issue 13): every 2 s the same markup the
 * server renders comes as JSON and replaces the section's body, so displays reached,
 * latencies and the chart grow while acknowledgements arrive. The page is complete
 * without this script; it only saves the reload. Same origin, no inline code. */
(function () {
  "use strict";
  var section = document.querySelector("[data-live-url]");
  if (!section || !window.fetch) return;
  var body = section.querySelector("[data-live-body]");
  var announce = section.querySelector("[data-live-announce]");
  var url = section.getAttribute("data-live-url");
  var EVERY_MS = 2000;
  var MAX_MS = 30000;
  var delay = EVERY_MS;
  var last = null;
  var lastShown = Number(section.getAttribute("data-live-shown")); // as rendered

  function schedule() { window.setTimeout(poll, document.hidden ? Math.max(delay, 10000) : delay); }

  function apply(data) {
    if (data.html !== last) {
      last = data.html;
      body.innerHTML = data.html;
    }
    if (data.shown !== lastShown && announce) {
      announce.textContent = data.summary;
    }
    lastShown = data.shown;
    section.setAttribute("data-live-shown", String(data.shown));
  }

  function poll() {
    fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) { apply(data); delay = EVERY_MS; })
      .catch(function () { delay = Math.min(delay * 2, MAX_MS); }) // server busy or logged out: slow down
      .then(schedule);
  }

  schedule();
})();
