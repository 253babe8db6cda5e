/* Aushang kiosk page: rotation, paging, warnings. Talks only to the local player daemon.
   What the screen shows is decided by precedence.js (the rule shared with the server);
   this file only draws it. */
(function () {
  "use strict";

  var WARNING_PAGE_S = 12;
  var PING_EVERY_MS = 10000;

  var state = null;
  var receivedAt = 0;
  var plan = null;
  var rev = null;
  var acked = {};
  var showing = null;
  var rotation = { entries: [], index: -1, key: null, token: 0, timer: null, timerFn: null, pages: [], page: 0, pagedEl: null, front: null, fresh: [], resume: null, pageFrom: 0, pageEnd: 0, nextPageOf: {} };
  var takeover = { key: null, screens: [], pos: 0, timer: null, token: 0, kind: null };
  var current = { warning: null, screen: null };
  var W = window.AushangWarnings({
    el: el,
    showLayer: function (name) { showLayer(name); },
    ackOnce: function (id) { ackOnce(id); },
    current: current
  });
  var board = window.AushangBoard(el, function () { return serverNow(); });
  var media = window.AushangMedia({
    el: el, rotation: rotation, current: current, afterPaint: afterPaint,
    showLayer: function (name) { showLayer(name); },
    frames: function () { return frames(); },
    schedule: function (s, fn) { schedule(s, fn); },
    next: function () { next(); },
    played: function (item) { played(item); }
  });
  var screensFor = W.screensFor, renderScreen = W.renderScreen, drawPage = W.drawPage;
  var renderStrips = W.renderStrips, langOf = W.langOf;

  function el(id) { return document.getElementById(id); }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).catch(function () { return null; });
  }

  function afterPaint(fn) {
    // Two frames: the first runs before the paint, the second after it.
    requestAnimationFrame(function () { requestAnimationFrame(fn); });
  }

  function ackOnce(alertId) {
    if (!alertId || acked[alertId]) return;
    acked[alertId] = true;
    afterPaint(function () { post("local/alert-shown", { alert: alertId }); });
  }

  var LAYERS = ["starting", "pairing", "empty", "rotation", "warning"];
  function showLayer(name) {
    LAYERS.forEach(function (id) { el(id).hidden = id !== name; });
    board.shownLayer(name);
  }

  // ---------------------------------------------------------------- state from the daemon

  function poll() {
    var url = "local/state" + (rev === null ? "" : "?since=" + rev);
    fetch(url, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        if (s.rev !== rev) { rev = s.rev; apply(s); }
        poll();
      })
      .catch(function () { setTimeout(poll, 2000); });
  }

  function serverNow() {
    var base = state && state.now ? Date.parse(state.now) : NaN;
    return isNaN(base) ? Date.now() : base + (Date.now() - receivedAt);
  }

  function byId(list) {
    var map = {};
    list.forEach(function (w) { map[String(w.id)] = w; });
    return map;
  }

  function apply(s) {
    state = s;
    receivedAt = Date.now();
    renderStale();
    board.update(s);
    if (!s.enrolled) {
      plan = null;
      stopTakeover();
      stopRotation();
      renderStrips([]);
      el("pairing-code").textContent = s.pairing_code || "";
      el("pairing-wait").hidden = !!s.pairing_code;
      showLayer("pairing");
      return;
    }
    var warnings = s.warnings || [];
    var ids = byId(warnings);
    // The server filters by display type already; an explicit flag is honoured (W7).
    plan = window.AushangPrecedence.screenPlan(warnings, serverNow(), s.test_display !== false);
    var pick = function (list) { return list.map(function (id) { return ids[id]; }); };
    renderStrips(pick(plan.strips));
    if (plan.full_screen.length) {
      // Pre-empt at once, whatever the rotation is doing. Beside a full-screen Entwarnung
      // the live banners' full pages follow its screens (none in a takeover).
      stopRotation();
      startTakeover(pick(plan.full_screen), plan.mode, pick(plan.banner_pages));
      return;
    }
    stopTakeover();
    updateRotation(s, ids);
  }

  function renderStale() {
    var box = el("stale");
    if (state && state.stale && state.stand) {
      box.textContent = "Stand: " + state.stand;
      box.hidden = false;
    } else {
      box.hidden = true;
    }
  }

  // ---------------------------------------------------------------- rotation

  function entriesFor(s, warningsById) {
    // The order is the precedence module's: alternates after every slide, the banners'
    // full pages once after the last slide (W12 without stretching the cycle, D3).
    var items = s.items || [], itemsById = {};
    items.forEach(function (item) { itemsById[String(item.id)] = item; });
    var cycle = window.AushangPrecedence.rotationCycle(items.map(function (item) { return String(item.id); }), plan);
    return cycle.map(function (entry) {
      var sep = entry.indexOf(":"), id = entry.slice(sep + 1);
      if (entry.slice(0, sep) === "item") {
        var item = itemsById[id];
        return { key: "item:" + item.id + ":" + item.url, item: item };
      }
      var w = warningsById[id];
      return { key: "alert:" + w.id + ":" + JSON.stringify(w), warning: w };
    });
  }

  function updateRotation(s, warningsById) {
    var entries = entriesFor(s, warningsById);
    noteFresh(rotation.entries, entries);
    rotation.entries = entries;
    if (!entries.length) {
      stopRotation();
      current.warning = null;
      showLayer("empty");
      return;
    }
    var at = -1;
    for (var i = 0; i < entries.length; i++) {
      if (entries[i].key === rotation.key) { at = i; break; }
    }
    if (at >= 0 && rotation.timer !== null) {
      rotation.index = at; // the current slide is still valid: let it finish
      return;
    }
    rotation.index = at >= 0 ? at - 1 : rotation.index % entries.length;
    next();
  }

  function stopRotation() {
    rotation.token++;
    if (rotation.timer !== null) clearTimeout(rotation.timer);
    rotation.timer = null;
    rotation.timerFn = null;
    rotation.key = null;
    showing = null;
  }

  function schedule(seconds, fn) {
    var token = rotation.token;
    if (rotation.timer !== null) clearTimeout(rotation.timer);
    var run = function () {
      rotation.timer = null;
      rotation.timerFn = null;
      if (token === rotation.token) fn();
    };
    rotation.timerFn = run;
    rotation.timer = setTimeout(run, seconds * 1000);
  }

  function noteFresh(before, after) {
    // A notice released or corrected while the rotation runs (a new item, or a new slide
    // of a known one) is shown next, not when the rotation comes round to it.
    if (!before.length) return;
    var known = {};
    before.forEach(function (e) { known[e.key] = true; });
    after.forEach(function (e) {
      if (e.item && !known[e.key] && rotation.fresh.indexOf(e.key) < 0) rotation.fresh.push(e.key);
    });
  }

  function indexOfKey(key) {
    for (var i = 0; i < rotation.entries.length; i++) {
      if (rotation.entries[i].key === key) return i;
    }
    return -1;
  }

  function onAir(i) {
    // Outside its weekdays and times of day (issue 16) an item is skipped this time round.
    var entry = rotation.entries[i];
    return !entry.item || window.AushangHours.covers(entry.item.hours, serverNow(), state && state.timezone);
  }

  function nextIndex() {
    var count = rotation.entries.length;
    var at = pickIndex(count);
    for (var step = 0; step < count; step++) {
      var i = (at + step) % count;
      if (onAir(i)) return i;
    }
    return -1;
  }

  function pickIndex(count) {
    var after = (rotation.index + 1) % count;
    while (rotation.fresh.length) {
      var at = indexOfKey(rotation.fresh.shift());
      if (at < 0 || !onAir(at)) continue;
      // Out of turn: afterwards the rotation goes on where it would have gone.
      if (rotation.resume === null && at !== after) rotation.resume = rotation.entries[after].key;
      return at;
    }
    if (rotation.resume !== null) {
      var back = indexOfKey(rotation.resume);
      rotation.resume = null;
      if (back >= 0) return back;
    }
    return after;
  }

  function showPosition() {
    // "Aushang 3 von 12": the notices and pages of the cycle, warnings between them not counted.
    var n = 0, total = 0;
    rotation.entries.forEach(function (e, i) {
      if (!e.item) return;
      total++;
      if (i <= rotation.index) n = total;
    });
    board.position(rotation.entries[rotation.index].item ? n : 0, total);
  }

  function next() {
    var entries = rotation.entries;
    if (!entries.length) return;
    var index = nextIndex();
    if (index < 0) {
      // Nothing on air now (only timed content): look again in half a minute.
      showLayer("empty");
      showing = null;
      schedule(30, next);
      return;
    }
    rotation.index = index;
    var entry = entries[rotation.index];
    showPosition();
    rotation.token++;
    rotation.key = entry.key;
    if (entry.warning) {
      showWarningInRotation(entry.warning);
    } else if (entry.item.kind === "image") {
      media.showImage(entry.item);
    } else if (entry.item.kind === "video") {
      media.showVideo(entry.item);
    } else {
      showSlide(entry.item);
    }
  }

  function played(item) {
    showing = item.id;
    post("local/played", { item: item.id });
  }

  function frames() { return [el("frame-a"), el("frame-b")]; }

  function showSlide(item) {
    var token = rotation.token;
    var fs = frames();
    var back = rotation.front === fs[0] ? fs[1] : fs[0];
    function onload() {
      var doc = back.contentDocument;
      if (!doc || doc.location.pathname !== item.url) return; // about:blank of a fresh frame
      back.removeEventListener("load", onload);
      if (token !== rotation.token) return;
      if (!doc.body) {
        schedule(1, next);
        return;
      }
      showLayer("rotation");
      current.warning = null;
      // Visible layer but hidden frame: laid out, so the paging can measure.
      var paged = doc.querySelector("[data-paged]");
      rotation.pagedEl = paged;
      rotation.pages = paged ? window.AushangPaginate.split(paged, paged.textContent) : [null];
      pageWindow(item);
      if (paged) paged.textContent = rotation.pages[rotation.page];
      el("image").hidden = true;
      media.stopVideo();
      back.classList.add("active");
      if (rotation.front && rotation.front !== back) rotation.front.classList.remove("active");
      rotation.front = back;
      renderPageIndicator();
      afterPaint(function () { if (token === rotation.token) played(item); });
      schedule(item.duration_s, function nextPage() {
        if (rotation.page + 1 < rotation.pageEnd) {
          showPage(rotation.page + 1);
          schedule(item.duration_s, nextPage);
        } else {
          next();
        }
      });
    }
    back.addEventListener("load", onload);
    back.src = item.url;
  }

  function pageWindow(item) {
    // At most max_pages pages of a notice per cycle (issue 16); the next cycle goes on
    // from the page after, so every page comes round, and the QR code has the whole text.
    var total = rotation.pages.length, cap = item.max_pages || 0;
    var from = cap && total > cap ? (rotation.nextPageOf[item.id] || 0) % total : 0;
    var end = cap ? Math.min(total, from + cap) : total;
    rotation.nextPageOf[item.id] = end >= total ? 0 : end;
    rotation.page = rotation.pageFrom = from;
    rotation.pageEnd = end;
  }

  function showPage(i) {
    rotation.page = i;
    if (rotation.pagedEl) rotation.pagedEl.textContent = rotation.pages[i];
    renderPageIndicator();
  }

  function renderPageIndicator() {
    var box = el("page-indicator");
    var total = rotation.pages.length;
    if (total > 1) {
      var more = rotation.page + 1 === rotation.pageEnd && rotation.pageEnd < total;
      box.textContent = "Seite " + (rotation.page + 1) + " von " + total +
        (more ? " · weiter auf Seite " + (rotation.pageEnd + 1) + " (nächster Durchlauf, QR-Code)" : "");
      box.hidden = false;
    } else {
      box.hidden = true;
    }
  }

  function showWarningInRotation(w) {
    // Every language and every page of the warning, then the rotation goes on (W12).
    var token = rotation.token;
    showing = null;
    var screens = screensFor([w]);
    var pos = 0;
    showLayer("warning");
    function step() {
      if (token !== rotation.token) return;
      var screen = screens[pos];
      if (screen.pages !== null && screen.page + 1 < screen.pages.length) {
        screen.page++;
        drawPage(screen);
      } else if (screen.pages !== null) {
        pos++;
        if (pos >= screens.length) { next(); return; }
        renderScreen(screens[pos], null);
      } else {
        renderScreen(screen, null);
      }
      schedule(WARNING_PAGE_S, step);
    }
    step();
  }

  function startTakeover(warnings, mode, bannerPages) {
    var banners = bannerPages || [];
    var key = mode + JSON.stringify(warnings) + JSON.stringify(banners);
    if (key === takeover.key && takeover.timer !== null) return; // unchanged: keep cycling
    stopTakeover();
    takeover.key = key;
    // The banners count among themselves: "1 von 2" numbers the full-screen warnings only.
    takeover.screens = screensFor(warnings).concat(screensFor(banners));
    takeover.pos = 0;
    var token = ++takeover.token;
    function tick() {
      if (token !== takeover.token) return;
      var screen = takeover.screens[takeover.pos];
      if (screen.pages === null) renderScreen(screen, mode); else drawPage(screen);
      takeover.timer = setTimeout(advanceTakeover, WARNING_PAGE_S * 1000);
    }
    function advanceTakeover() {
      if (token !== takeover.token) return;
      var screen = takeover.screens[takeover.pos];
      if (screen.pages !== null && screen.page + 1 < screen.pages.length) {
        screen.page++;
      } else {
        takeover.pos = (takeover.pos + 1) % takeover.screens.length;
        var nextScreen = takeover.screens[takeover.pos];
        nextScreen.pages = null; // re-measured: the screen may have changed size
      }
      tick();
    }
    takeover.advance = advanceTakeover;
    tick();
  }

  function stopTakeover() {
    takeover.token++;
    if (takeover.timer !== null) clearTimeout(takeover.timer);
    takeover.timer = null;
    takeover.key = null;
    takeover.advance = null;
  }

  // ---------------------------------------------------------------- start

  // Hooks for the browser tests and for staff looking at a display remotely. advance()
  // steps to the next page or screen at once, as the timer would: tests never wait 12 s.
  window.aushangKiosk = {
    state: function () { return state; },
    plan: function () { return plan; },
    current: function () {
      var s = current.screen;
      return {
        key: rotation.key, page: rotation.page, pages: rotation.pages.slice(), showing: showing,
        page_window: [rotation.pageFrom, rotation.pageEnd],
        warning: current.warning && !el("warning").hidden ? String(current.warning.id) : null,
        language: s ? langOf(s.info) : null,
        warning_page: s ? s.page : null,
        warning_pages: s && s.pages ? s.pages.length : null
      };
    },
    showPage: showPage,
    advance: function () {
      if (takeover.advance) {
        clearTimeout(takeover.timer);
        takeover.advance();
        return "takeover";
      }
      if (rotation.timerFn) {
        var fn = rotation.timerFn;
        clearTimeout(rotation.timer);
        rotation.timer = null;
        rotation.timerFn = null;
        fn();
        return "rotation";
      }
      return null;
    }
  };

  setInterval(function () { post("local/ping", { showing: showing }); }, PING_EVERY_MS);
  post("local/ping", { showing: null });
  poll();
})();
