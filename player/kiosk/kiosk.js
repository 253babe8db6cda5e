/* Aushang kiosk page: rotation, paging, warnings. Talks only to the local player daemon. */
(function () {
  "use strict";

  var WARNING_PAGE_S = 12;
  var PING_EVERY_MS = 10000;
  var SECTION_LABELS = { description: "Lage", instruction: "Was Sie jetzt tun sollten" };
  var LANGUAGE_NAMES = {
    de: "Deutsch", en: "English", fr: "Français", tr: "Türkçe", ar: "العربية",
    ru: "Русский", uk: "Українська", pl: "Polski", es: "Español", it: "Italiano"
  };

  var state = null;
  var rev = null;
  var acked = {};
  var showing = null;
  var rotation = { entries: [], index: -1, key: null, token: 0, timer: null, pages: [], page: 0, pagedEl: null, front: null };
  var takeover = { key: null, steps: [], pos: 0, timer: null, token: 0 };
  var bannerState = { key: null, pos: 0, timer: null };

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
    if (acked[alertId]) return;
    acked[alertId] = true;
    afterPaint(function () { post("local/alert-shown", { alert: alertId }); });
  }

  var LAYERS = ["starting", "pairing", "empty", "rotation", "warning"];
  function showLayer(name) {
    LAYERS.forEach(function (id) { el(id).hidden = id !== name; });
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

  function apply(s) {
    state = s;
    renderStale();
    if (!s.enrolled) {
      stopTakeover();
      stopRotation();
      renderBanner([]);
      el("pairing-code").textContent = s.pairing_code || "";
      el("pairing-wait").hidden = !!s.pairing_code;
      showLayer("pairing");
      return;
    }
    var warnings = s.warnings || [];
    var full = warnings.filter(function (w) { return w.behaviour === "takeover"; });
    renderBanner(warnings.filter(function (w) { return w.behaviour === "banner"; }));
    if (full.length) {
      // Pre-empt at once, whatever the rotation is doing.
      stopRotation();
      startTakeover(full);
      return;
    }
    stopTakeover();
    updateRotation(s);
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

  function entriesFor(s) {
    var entries = [];
    var alternates = (s.warnings || []).filter(function (w) { return w.behaviour === "alternate"; });
    (s.items || []).forEach(function (item) {
      entries.push({ key: "item:" + item.id + ":" + item.url, item: item });
      alternates.forEach(function (w) { entries.push({ key: "alert:" + w.id + ":" + JSON.stringify(w), warning: w }); });
    });
    if (!entries.length) {
      alternates.forEach(function (w) { entries.push({ key: "alert:" + w.id + ":" + JSON.stringify(w), warning: w }); });
    }
    return entries;
  }

  function updateRotation(s) {
    var entries = entriesFor(s);
    rotation.entries = entries;
    if (!entries.length) {
      stopRotation();
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
    rotation.key = null;
    showing = null;
  }

  function schedule(seconds, fn) {
    var token = rotation.token;
    if (rotation.timer !== null) clearTimeout(rotation.timer);
    rotation.timer = setTimeout(function () {
      rotation.timer = null;
      if (token === rotation.token) fn();
    }, seconds * 1000);
  }

  function next() {
    var entries = rotation.entries;
    if (!entries.length) return;
    rotation.index = (rotation.index + 1) % entries.length;
    var entry = entries[rotation.index];
    rotation.token++;
    rotation.key = entry.key;
    if (entry.warning) {
      showWarningInRotation(entry.warning);
    } else if (entry.item.kind === "image") {
      showImage(entry.item);
    } else {
      showSlide(entry.item);
    }
  }

  function played(item) {
    showing = item.id;
    post("local/played", { item: item.id });
  }

  function showImage(item) {
    var token = rotation.token;
    var img = el("image");
    img.onload = null;
    img.addEventListener("load", function onload() {
      img.removeEventListener("load", onload);
      if (token !== rotation.token) return;
      showLayer("rotation");
      frames().forEach(function (f) { f.classList.remove("active"); });
      img.hidden = false;
      el("page-indicator").hidden = true;
      rotation.pages = [];
      afterPaint(function () { if (token === rotation.token) played(item); });
      schedule(item.duration_s, next);
    });
    img.addEventListener("error", function onerror() {
      img.removeEventListener("error", onerror);
      if (token === rotation.token) schedule(1, next);
    });
    img.src = item.url;
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
      // Visible layer but hidden frame: laid out, so the paging can measure.
      var paged = doc.querySelector("[data-paged]");
      rotation.pagedEl = paged;
      rotation.pages = paged ? window.AushangPaginate.split(paged, paged.textContent) : [null];
      rotation.page = 0;
      if (paged) paged.textContent = rotation.pages[0];
      el("image").hidden = true;
      back.classList.add("active");
      if (rotation.front && rotation.front !== back) rotation.front.classList.remove("active");
      rotation.front = back;
      renderPageIndicator();
      afterPaint(function () { if (token === rotation.token) played(item); });
      schedule(item.duration_s, function nextPage() {
        if (rotation.page + 1 < rotation.pages.length) {
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

  function showPage(i) {
    rotation.page = i;
    if (rotation.pagedEl) rotation.pagedEl.textContent = rotation.pages[i];
    renderPageIndicator();
  }

  function renderPageIndicator() {
    var box = el("page-indicator");
    if (rotation.pages.length > 1) {
      box.textContent = "Seite " + (rotation.page + 1) + " von " + rotation.pages.length;
      box.hidden = false;
    } else {
      box.hidden = true;
    }
  }

  function showWarningInRotation(w) {
    var token = rotation.token;
    showing = null;
    var steps = stepsFor([w]);
    var pos = 0;
    function step() {
      if (token !== rotation.token) return;
      if (pos >= steps.length) { next(); return; }
      renderStep(steps[pos++]);
      schedule(WARNING_PAGE_S, step);
    }
    showLayer("warning");
    step();
  }

  // ---------------------------------------------------------------- warnings

  function languagesOf(w) {
    var langs = (w.languages || []).filter(function (l) { return l && l.headline; });
    if (!langs.length) {
      langs = [{ language: "de", headline: w.headline, description: w.description, instruction: w.instruction }];
    }
    return langs;
  }

  function stepsFor(warnings) {
    // One step per (warning, language, section); pages are made when a step is drawn.
    var steps = [];
    warnings.forEach(function (w) {
      languagesOf(w).forEach(function (info, li) {
        var sections = [];
        if (info.description) sections.push("description");
        if (info.instruction) sections.push("instruction");
        if (!sections.length) sections.push("none");
        sections.forEach(function (section) {
          steps.push({ warning: w, info: info, langIndex: li, section: section, page: 0, pages: null });
        });
      });
    });
    return steps;
  }

  function renderStep(step) {
    var w = step.warning, info = step.info;
    var box = el("warning");
    box.classList.toggle("entwarnung", !!w.entwarnung);
    box.setAttribute("lang", info.language || "de");
    el("w-kind").textContent = w.entwarnung ? "Entwarnung" : "Warnung";
    el("w-label").textContent = w.label || "";
    el("w-label").hidden = !w.label;
    var langs = languagesOf(w);
    el("w-lang").textContent = langs.length > 1
      ? (LANGUAGE_NAMES[(info.language || "").slice(0, 2)] || info.language) + " (" + (step.langIndex + 1) + "/" + langs.length + ")"
      : "";
    el("w-headline").textContent = info.headline || w.headline;
    el("w-sender").textContent = info.sender_name || w.sender || "";
    el("w-time").textContent = w.sent_local || "";
    el("w-source").textContent = w.source || "";
    var qr = el("w-qr");
    if (w.qr_image) { qr.src = w.qr_image; qr.hidden = false; } else { qr.hidden = true; qr.removeAttribute("src"); }
    el("w-section").textContent = step.section === "none" ? "" : SECTION_LABELS[step.section];
    var textBox = el("w-text");
    var text = step.section === "none" ? "" : (info[step.section] || "");
    if (step.pages === null) step.pages = window.AushangPaginate.split(textBox, text);
    textBox.textContent = step.pages[step.page];
    el("w-page").textContent = step.pages.length > 1
      ? "Seite " + (step.page + 1) + " von " + step.pages.length : "";
    if (w.id) ackOnce(w.id);
  }

  function startTakeover(warnings) {
    var key = JSON.stringify(warnings);
    if (key === takeover.key && takeover.timer !== null) return; // unchanged: keep cycling
    stopTakeover();
    takeover.key = key;
    takeover.steps = stepsFor(warnings);
    takeover.pos = 0;
    var token = ++takeover.token;
    showLayer("warning");
    function tick() {
      if (token !== takeover.token) return;
      var step = takeover.steps[takeover.pos];
      renderStep(step);
      takeover.timer = setTimeout(function () {
        if (token !== takeover.token) return;
        if (step.page + 1 < step.pages.length) {
          step.page++;
        } else {
          step.page = 0;
          takeover.pos = (takeover.pos + 1) % takeover.steps.length;
        }
        tick();
      }, WARNING_PAGE_S * 1000);
    }
    tick();
  }

  function stopTakeover() {
    takeover.token++;
    if (takeover.timer !== null) clearTimeout(takeover.timer);
    takeover.timer = null;
    takeover.key = null;
  }

  function renderBanner(list) {
    var box = el("banner");
    var key = JSON.stringify(list);
    if (key === bannerState.key) return;
    bannerState.key = key;
    if (bannerState.timer !== null) clearInterval(bannerState.timer);
    bannerState.timer = null;
    if (!list.length) { box.hidden = true; return; }
    bannerState.pos = 0;
    function draw() {
      var w = list[bannerState.pos % list.length];
      bannerState.pos++;
      el("banner-label").textContent = w.label || "";
      el("banner-label").hidden = !w.label;
      el("banner-text").textContent = (w.entwarnung ? "Entwarnung: " : "Warnung: ") + w.headline +
        (w.sender ? " – " + w.sender : "");
      box.hidden = false;
      ackOnce(w.id);
    }
    draw();
    if (list.length > 1) bannerState.timer = setInterval(draw, WARNING_PAGE_S * 1000);
  }

  // ---------------------------------------------------------------- start

  // Read-only hooks for the browser tests and for staff looking at a display remotely.
  window.aushangKiosk = {
    state: function () { return state; },
    current: function () {
      return { key: rotation.key, page: rotation.page, pages: rotation.pages.slice(), showing: showing };
    },
    showPage: showPage
  };

  setInterval(function () { post("local/ping", { showing: showing }); }, PING_EVERY_MS);
  post("local/ping", { showing: null });
  poll();
})();
