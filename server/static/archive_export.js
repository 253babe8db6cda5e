// Progress of a running archive export (issue 17): poll its status, move the bar,
// reload the page when it is done so the download link appears. Without scripts the
// page offers a link to refresh it.
(function () {
  "use strict";
  document.querySelectorAll("[data-export-job]").forEach(function (item) {
    var bar = item.querySelector("progress");
    var status = item.querySelector("[data-export-status]");
    if (!bar) return;
    function poll() {
      fetch(item.getAttribute("data-export-job"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          bar.value = s.percent;
          bar.textContent = s.percent + " %";
          if (s.state === "running") {
            status.textContent = "läuft … " + s.percent + " %";
            setTimeout(poll, 1000);
          } else {
            status.textContent = s.state === "done" ? "fertig" : "fehlgeschlagen";
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  });
})();
