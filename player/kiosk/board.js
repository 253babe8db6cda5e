/* Aushang kiosk page: the head line that tells a passer-by the board is alive and official
   (issue 16): the Kommune's crest and name, the position in the rotation, and the date and
   time from the player's corrected server time (never the Pi's own clock), in the
   Kommune's time zone. kiosk.js tells it what changed; it only draws. */
window.AushangBoard = function (el, serverNow) {
  "use strict";

  var zone = "Europe/Berlin";
  var formats = {};
  var on = false, layer = null;

  function format(kind) {
    var key = kind + "|" + zone;
    if (!formats[key]) {
      var options = kind === "date"
        ? { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: zone }
        : { hour: "2-digit", minute: "2-digit", timeZone: zone };
      try {
        formats[key] = new Intl.DateTimeFormat("de-DE", options);
      } catch (e) {
        delete options.timeZone; // an unknown zone: the page's own, rather than no clock
        formats[key] = new Intl.DateTimeFormat("de-DE", options);
      }
    }
    return formats[key];
  }

  function tick() {
    var now = new Date(serverNow());
    el("board-date").textContent = format("date").format(now);
    el("board-time").textContent = format("time").format(now) + " Uhr";
    el("board-time").setAttribute("datetime", now.toISOString());
  }

  function show() {
    // A warning screen takes the whole screen (its own lines name sender and time): the
    // head line gives its row back, so long warnings keep their pages.
    el("board").hidden = !on || layer === "warning";
  }

  function update(state) {
    on = !!(state && state.enrolled);
    zone = (state && state.timezone) || zone;
    var crest = el("board-crest");
    if (on && state.crest) {
      if (crest.getAttribute("src") !== state.crest) crest.src = state.crest;
      crest.hidden = false;
    } else {
      crest.hidden = true;
      crest.removeAttribute("src");
    }
    el("board-name").textContent = (on && (state.kommune || state.display_name)) || "";
    show();
    if (!on) position(0, 0);
    tick();
  }

  function position(n, total) {
    var box = el("board-position");
    box.textContent = total > 1 && n > 0 ? "Aushang " + n + " von " + total : "";
    box.hidden = !(total > 1 && n > 0);
  }

  function shownLayer(name) {
    layer = name;
    show();
  }

  setInterval(tick, 1000);
  return { update: update, position: position, tick: tick, shownLayer: shownLayer };
};
