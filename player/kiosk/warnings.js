/* Aushang kiosk page: drawing warning screens (every language, every page, W12) and the
   warning strips. kiosk.js decides when; this file only draws. */
window.AushangWarnings = function (hooks) {
  "use strict";

  var el = hooks.el, current = hooks.current;
  var SECTION_LABELS = { description: "Lage", instruction: "Was Sie jetzt tun sollten" };
  var STUFE_LABELS = { 1: "Warnstufe 1 – extreme Gefahr", 2: "Warnstufe 2 – Gefahr", 3: "Warnstufe 3 – Gefahreninformation" };
  var LANGUAGE_NAMES = {
    de: "Deutsch", en: "English", fr: "Français", tr: "Türkçe", ar: "العربية",
    ru: "Русский", uk: "Українська", pl: "Polski", es: "Español", it: "Italiano", fa: "فارسی"
  };
  var RTL = { ar: true, fa: true, he: true, ur: true, ps: true, ku: false };

  function languagesOf(w) {
    var langs = (w.languages || []).filter(function (l) { return l && l.headline; });
    if (!langs.length) {
      langs = [{ language: "de", headline: w.headline, description: w.description, instruction: w.instruction }];
    }
    return langs;
  }

  function screensFor(warnings) {
    // One screen per (warning, language); its pages are made when it is first drawn,
    // because they depend on the screen it is drawn on.
    var screens = [];
    warnings.forEach(function (w, wi) {
      languagesOf(w).forEach(function (info, li) {
        screens.push({ warning: w, index: wi, count: warnings.length, info: info, langIndex: li, page: 0, pages: null });
      });
    });
    return screens;
  }

  function sectionsOf(screen) {
    var info = screen.info, out = [];
    ["description", "instruction"].forEach(function (key) {
      var text = info[key] || "";
      if (text) out.push({ key: key, label: SECTION_LABELS[key], text: text });
    });
    return out;
  }

  function langOf(info) { return (info.language || "de"); }

  function renderPieces(screen, pieces) {
    var body = el("w-body");
    var lang = langOf(screen.info), base = lang.slice(0, 2).toLowerCase();
    body.textContent = "";
    pieces.forEach(function (p) {
      var sec = document.createElement("section");
      sec.className = "w-sec";
      var h = document.createElement("h2");
      h.className = "w-section";
      h.textContent = p.section.label + (p.start > 0 ? " (Fortsetzung)" : "");
      var t = document.createElement("div");
      t.className = "w-text";
      t.setAttribute("lang", lang);
      t.setAttribute("dir", RTL[base] ? "rtl" : "ltr");
      t.setAttribute("data-section", p.section.key);
      t.textContent = p.text;
      sec.appendChild(h);
      sec.appendChild(t);
      body.appendChild(sec);
    });
  }

  function fitHeadline(h) {
    // Largest size (7vmin down to the body text's 4.2vmin) at which the headline takes at
    // most a quarter of the screen; at the smallest it may take more: it is never cut.
    var vmin = Math.min(window.innerWidth, window.innerHeight) / 100;
    var limit = window.innerHeight * 0.25;
    var size = 7;
    for (; size > 4.2; size -= 0.4) {
      h.style.fontSize = Math.max(size * vmin, 18) + "px";
      if (h.scrollHeight <= limit && h.scrollWidth <= h.clientWidth + 1) return;
    }
    h.style.fontSize = Math.max(4.2 * vmin, 18) + "px";
  }

  function renderScreen(screen, kind) {
    var w = screen.warning, info = screen.info;
    var box = el("warning");
    var stufe = w.warnstufe || 0;
    box.classList.toggle("entwarnung", !!w.entwarnung);
    [1, 2, 3].forEach(function (n) { box.classList.toggle("stufe-" + n, !w.entwarnung && stufe === n); });
    el("w-kind").textContent = w.entwarnung ? "Entwarnung" : "Warnung";
    el("w-label").textContent = w.label || "";
    el("w-label").hidden = !w.label;
    el("w-stufe").textContent = STUFE_LABELS[stufe] || "";
    el("w-stufe").hidden = !!w.entwarnung || !STUFE_LABELS[stufe];
    var count = el("w-count");
    count.textContent = (screen.index + 1) + " von " + screen.count;
    count.hidden = screen.count < 2;
    var langs = languagesOf(w);
    var code = langOf(info), base = code.slice(0, 2).toLowerCase();
    el("w-lang").textContent = langs.length > 1
      ? (LANGUAGE_NAMES[base] || code) + " (" + (screen.langIndex + 1) + "/" + langs.length + ")"
      : "";
    var h = el("w-headline");
    h.setAttribute("lang", code);
    h.setAttribute("dir", RTL[base] ? "rtl" : "ltr");
    h.textContent = info.headline || w.headline;
    el("w-area-text").textContent = w.area || "";
    el("w-area").hidden = !w.area;
    el("w-sender").textContent = info.sender_name || w.sender || "";
    el("w-time").textContent = w.sent_local || "";
    el("w-source").textContent = w.source || "";
    var qr = el("w-qr");
    if (w.qr_image) { qr.src = w.qr_image; qr.hidden = false; } else { qr.hidden = true; qr.removeAttribute("src"); }
    el("w-page").textContent = "";
    hooks.showLayer("warning");
    fitHeadline(h);
    // The page indicator takes its line before measuring, so the pages stay the same.
    el("w-page").textContent = "Seite 1 von 1";
    screen.pages = window.AushangPaginate.fill(el("w-body"), sectionsOf(screen), function (pieces) {
      renderPieces(screen, pieces);
    });
    screen.page = 0;
    drawPage(screen);
    current.warning = w;
    current.screen = screen;
    hooks.ackOnce(w.id);
  }

  function drawPage(screen) {
    renderPieces(screen, screen.pages[screen.page]);
    el("w-page").textContent = screen.pages.length > 1
      ? "Seite " + (screen.page + 1) + " von " + screen.pages.length : "";
    current.screen = screen;
  }

  function renderStrips(list) {
    // Every strip at once, stacked in its own space: none hides another, none covers content.
    var box = el("banner");
    box.textContent = "";
    list.forEach(function (w) {
      var p = document.createElement("p");
      p.className = "strip" + (w.entwarnung ? " entwarnung" : "");
      p.setAttribute("data-alert", String(w.id));
      if (w.label) {
        var label = document.createElement("span");
        label.className = "exercise-label";
        label.textContent = w.label;
        p.appendChild(label);
      }
      var text = document.createElement("span");
      text.setAttribute("lang", languagesOf(w)[0].language || "de");
      var prefix = w.entwarnung ? "Entwarnung: " : "Warnung: ";
      if (w.headline.indexOf(prefix.slice(0, -2)) === 0) prefix = "";
      text.textContent = prefix + w.headline +
        (w.area ? " – " + w.area : "") + (w.sender ? " – " + w.sender : "");
      p.appendChild(text);
      box.appendChild(p);
      hooks.ackOnce(w.id);
    });
    box.hidden = !list.length;
  }

  return {
    screensFor: screensFor, renderScreen: renderScreen, drawPage: drawPage,
    renderStrips: renderStrips, langOf: langOf, languagesOf: languagesOf
  };
};
