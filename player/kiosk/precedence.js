/* What the warning screen shows, and in which order: the one precedence rule.
   The twin of server/domain/alerts/precedence.py; both are checked against
   contract/warning-precedence-cases.json. Pure: no DOM, `now` is a parameter.

   - A live warning (not a Cancel, not expired) always wins over any Entwarnung.
   - Live takeovers take the full screen; when one exists, live "alternate" warnings join
     that cycle. Order: Warnstufe (1 first), then newest, then id.
   - Without a live takeover, live "alternate" warnings go between the rotation's slides.
   - Live banners are strips in their own space on every screen. Unless a live takeover hides
     everything, their full warning pages (every language, every page, W12) are shown too
     (banner_pages): in the rotation once per cycle, after the last notice slide
     (rotationCycle); beside a full-screen Entwarnung, after its screens in that cycle.
     Once per cycle, not after every slide: a long banner warning has several 12-second
     pages per language, and after every slide it would stretch the rotation's cycle many
     times over and break D3 (every notice at least every 5 minutes).
   - An Entwarnung takes the full screen only when no live takeover/alternate remains;
     otherwise it is a strip that covers nothing.
   - Exercise/Test messages only on test displays (W7). */
(function (global) {
  "use strict";

  var SEVERITY_WARNSTUFE = { Extreme: 1, Severe: 2 };

  function time(value) {
    if (value === null || value === undefined || value === "") return null;
    var t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  function normalise(w) {
    var stufe = typeof w.warnstufe === "number" ? w.warnstufe : (SEVERITY_WARNSTUFE[w.severity] || 3);
    return {
      id: String(w.id),
      behaviour: w.behaviour || "banner",
      entwarnung: !!w.entwarnung || w.msg_type === "Cancel",
      status: w.status || "Actual",
      warnstufe: stufe,
      sent: time(w.sent),
      expires: time(w.expires),
      entwarnung_until: time(w.entwarnung_until),
      source: w
    };
  }

  function isActive(w, now) {
    if (w.entwarnung) return w.entwarnung_until !== null && now < w.entwarnung_until;
    return w.expires === null || now < w.expires;
  }

  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function byPrecedence(a, b) {
    return cmp(a.warnstufe, b.warnstufe) || cmp(-(a.sent || 0), -(b.sent || 0)) || cmp(a.id, b.id);
  }

  function byNewest(a, b) { return cmp(-(a.sent || 0), -(b.sent || 0)) || cmp(a.id, b.id); }

  function ids(list) { return list.map(function (w) { return w.id; }); }

  /* warnings: manifest-shaped objects; now: ms since epoch, a Date or an ISO string.
     Returns {mode, full_screen, alternate, strips, hidden, banner_pages} with ids in
     display order. */
  function screenPlan(warnings, now, isTestDisplay) {
    var t = typeof now === "number" ? now : (now instanceof Date ? now.getTime() : time(now));
    var shown = [], hidden = [];
    (warnings || []).map(normalise).forEach(function (w) {
      if (isActive(w, t) && (w.status === "Actual" || isTestDisplay)) shown.push(w); else hidden.push(w.id);
    });
    var live = shown.filter(function (w) { return !w.entwarnung; });
    var cancels = shown.filter(function (w) { return w.entwarnung; }).sort(byNewest);
    var takeovers = live.filter(function (w) { return w.behaviour === "takeover"; });
    var alternates = live.filter(function (w) { return w.behaviour === "alternate"; });
    var banners = ids(live.filter(function (w) {
      return w.behaviour !== "takeover" && w.behaviour !== "alternate";
    }).sort(byPrecedence));
    if (takeovers.length) {
      return { mode: "takeover", full_screen: ids(takeovers.concat(alternates).sort(byPrecedence)),
        alternate: [], strips: banners.concat(ids(cancels)), hidden: hidden, banner_pages: [] };
    }
    if (alternates.length) {
      return { mode: "rotation", full_screen: [], alternate: ids(alternates.sort(byPrecedence)),
        strips: banners.concat(ids(cancels)), hidden: hidden, banner_pages: banners.slice() };
    }
    if (cancels.length) {
      return { mode: "entwarnung", full_screen: ids(cancels), alternate: [], strips: banners,
        hidden: hidden, banner_pages: banners.slice() };
    }
    return { mode: "rotation", full_screen: [], alternate: [], strips: banners, hidden: hidden,
      banner_pages: banners.slice() };
  }

  /* One cycle of the rotation in mode rotation, as "item:<id>" and "warning:<id>" entries:
     after every notice slide the alternate warnings, after the last slide (and its
     alternates) the banners' full pages, once per cycle. Without slides the warnings alone
     make the cycle. In the other modes the rotation is not running: []. */
  function rotationCycle(itemIds, plan) {
    if (plan.mode !== "rotation") return [];
    var alternates = plan.alternate.map(function (id) { return "warning:" + id; });
    var cycle = [];
    (itemIds || []).forEach(function (id) {
      cycle.push("item:" + id);
      cycle.push.apply(cycle, alternates);
    });
    if (!cycle.length) cycle.push.apply(cycle, alternates);
    plan.banner_pages.forEach(function (id) { cycle.push("warning:" + id); });
    return cycle;
  }

  var api = { screenPlan: screenPlan, rotationCycle: rotationCycle };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  if (global) global.AushangPrecedence = api;
})(typeof window !== "undefined" ? window : null);
