"""The warning screen in real headless Chromium, case by case (issue 13).

Matrix: 4 screen sizes × Warnstufe 1, 2, 3 × {one warning; two live incidents; a live
warning plus another incident's Entwarnung; an exercise on a test display} × {short texts;
2,000-character description and instruction; German + Arabic} = 144 cases.

The real kiosk page is served by the real ``KioskServer`` of the player, fed with states
made by the player's real ``build_view`` from contract-shaped manifest warnings (a fake
player stands in for the daemon; the notice slide is the server's real template). One
browser for all cases: the viewport is set by DevTools emulation, the state is published,
and one asynchronous script walks one full cycle of the screen with the page's
``aushangKiosk.advance()`` hook (no waiting for the 12 s page timer), measuring every view
from DOM geometry. Every case keeps a screenshot in ``test-artifacts/warning-matrix/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from player.cache import Cache
from player.clock import isoformat_z
from player.localserver import KioskServer
from player.manifest import blobs_of, parse_manifest
from player.view import Content, build_view
from server.config import PROJECT_ROOT
from server.domain.alerts.precedence import screen_plan
from server.services.displays import slides as slide_svc
from server.services.displays import warnings as warnings_svc

from .conftest import ARTIFACTS, console_failures

pytestmark = pytest.mark.e2e

SIZES = [(1920, 1080), (1080, 1920), (1280, 720), (3840, 2160)]
STUFEN = [1, 2, 3]
BEHAVIOUR = {1: "takeover", 2: "alternate", 3: "banner"}
SEVERITY = {1: "Extreme", 2: "Severe", 3: "Moderate"}
SCENARIOS = ["one", "two-live", "live-plus-entwarnung", "exercise-test-display"]
TEXTS = ["short", "long", "de-ar"]
SHOTS = ARTIFACTS / "warning-matrix"
SCHEMA = json.loads((PROJECT_ROOT / "contract" / "player-protocol-v1.schema.json").read_text())

NOW = datetime.now(UTC).replace(microsecond=0)


def isoz(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- texts ------------------------------------------------------------------------------

_DE_WORDS = (
    "Aufgrund des anhaltenden Starkregens steigt der Pegel der Lahn weiter an. Die "
    "Katastrophenschutzbehörde des Landkreises rechnet mit Überflutungen in den "
    "Niederungen; Hochwasserschutzmaßnahmen sind eingeleitet. Straßenunterführungen und "
    "Tiefgaragen können innerhalb kurzer Zeit volllaufen.\n\n"
)
_DE_DO = (
    "Schließen Sie Fenster und Türen. Bringen Sie sich und andere nicht in Gefahr. Meiden "
    "Sie Uferbereiche, Keller und Tiefgaragen. Informieren Sie Ihre Nachbarn und helfen "
    "Sie älteren Menschen. Folgen Sie den Anweisungen der Einsatzkräfte.\n\n"
)
_AR = (
    "يرتفع منسوب المياه في نهر لان بسبب الأمطار الغزيرة المستمرة. ابتعدوا عن ضفاف النهر "
    "والأقبية والمرائب تحت الأرض. أغلقوا النوافذ والأبواب واتبعوا تعليمات فرق الإنقاذ.\n\n"
)


def repeat(words: str, length: int) -> str:
    text = (words * (length // len(words) + 1))[:length]
    return text.rstrip() + "."


def infos(kind: str, n: int) -> list[dict[str, Any]]:
    head = f"Hochwassergefahr an der Lahn im Landkreis Marburg-Biedenkopf ({n})"
    if kind == "short":
        return [
            {
                "language": "de",
                "headline": f"Hochwasser an der Lahn ({n})",
                "description": "Der Pegel der Lahn steigt.",
                "instruction": "Meiden Sie die Uferbereiche.",
            }
        ]
    if kind == "long":
        return [
            {
                "language": "de",
                "headline": head,
                "description": repeat(_DE_WORDS, 2000),
                "instruction": repeat(_DE_DO, 2000),
            }
        ]
    return [
        {
            "language": "de",
            "headline": head,
            "description": repeat(_DE_WORDS, 500),
            "instruction": repeat(_DE_DO, 400),
        },
        {
            "language": "ar",
            "headline": "خطر الفيضان على نهر لان",
            "description": repeat(_AR, 500),
            "instruction": repeat(_AR[::1], 300),
        },
    ]


def warning(
    wid: str, stufe: int, kind: str, n: int, *, status: str = "Actual", cancel: bool = False,
    sent: datetime = NOW, qr: dict | None = None,
) -> dict[str, Any]:  # fmt: skip
    langs = infos(kind, n) if not cancel else [
        {"language": "de", "headline": f"Entwarnung: Gasaustritt in der Innenstadt ({n})",
         "description": "Die Gefahr ist vorüber. Die Sperrungen sind aufgehoben."}
    ]  # fmt: skip
    main = langs[0]
    return {
        "id": wid,
        "identifier": f"DE-HE-MR-{wid}",
        "msg_type": "Cancel" if cancel else "Alert",
        "status": status,
        "behaviour": "takeover" if cancel else BEHAVIOUR[stufe],
        "severity": SEVERITY[stufe],
        "warnstufe": stufe,
        "headline": main["headline"],
        "area": "Marburg, Cölbe, Lahntal",
        "description": main.get("description", ""),
        "instruction": main.get("instruction", ""),
        "sender": "Kreisausschuss Marburg-Biedenkopf, Brandschutz und Katastrophenschutz",
        "source": "BBK/MoWaS",
        "sent": isoz(sent),
        "expires": None if cancel else isoz(NOW + timedelta(hours=6)),
        "languages": langs,
        "qr": qr,
        "slide": None,
        "entwarnung_until": isoz(NOW + timedelta(hours=1)) if cancel else None,
    }


# --- the fake daemon and the real kiosk server ------------------------------------------


class FakePlayer:
    """What the kiosk server asks of the daemon: the manifest, warnings and the reports."""

    def __init__(self) -> None:
        self.manifest: dict[str, Any] = {"items": [], "warnings": []}
        self.warnings: list[dict[str, Any]] = []
        self.shown: list[str] = []

    def on_played(self, item: str) -> None:
        pass

    def on_alert_shown(self, alert: str) -> None:
        self.shown.append(alert)

    def health(self) -> dict[str, Any]:
        return {"ok": True}


class Kiosk:
    def __init__(self, root: Path) -> None:
        self.cache = Cache(root)
        self.player = FakePlayer()
        self.server = KioskServer(self.cache, port=0)
        self.server.bind(self.player)
        self.server.start()

    def store(self, data: bytes, media_type: str) -> dict[str, Any]:
        sha = hashlib.sha256(data).hexdigest()
        if not self.cache.has(sha):
            self.cache.store_asset(sha, len(data), [data])
        return {"sha256": sha, "size": len(data), "media_type": media_type}

    def put_bytes(self, data: bytes) -> str:
        """The server's BlobStore call, so the server's own QR code lands in the cache."""
        return self.store(data, "application/octet-stream")["sha256"]

    def publish(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.player.manifest = manifest
        self.player.warnings = manifest["warnings"]
        held = parse_manifest(
            {"protocol": 1, "server_time": isoformat_z(NOW), "etag": "matrix", **manifest}
        )
        view = build_view(
            content=Content.of(held),
            now=NOW,
            has_file=self.cache.has,
            enrolled=True,
            pairing_code=None,
            last_contact=NOW,
            stale_after_s=3600,
        )
        media = {sha: b.media_type for sha, b in blobs_of(held.items, held.warnings).items()}
        self.server.publish(view, media)
        return view


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kiosk]:
    k = Kiosk(tmp_path_factory.mktemp("kiosk-cache"))
    try:
        yield k
    finally:
        k.server.stop()


def notice_slide(kiosk: Kiosk, orientation: str) -> dict[str, Any]:
    """A real notice slide of the server's template, for this orientation."""
    url = "https://aushang.example/musterstadt/aushang/47"
    data = slide_svc._render(
        "notice.html",
        orientation=orientation,
        fonts=[],
        text_vh=slide_svc.TEXT_FONT_VH.get(orientation, 3.4),
        category="Bauleitplanung",
        number="2026-047",
        issuing_office="Gemeinde Musterstadt",
        version_label="",
        title="Bebauungsplan Nr. 47 „Am Mühlbach“",
        window_from="01.12.2026",
        window_until="15.12.2026",
        public_url=url,
        qr_svg=slide_svc.qr_svg(url),
        text="Der Entwurf liegt öffentlich aus. Stellungnahmen bis zum 15.12.2026.",
    )
    return {
        "id": f"notice-{orientation}",
        "kind": "notice",
        "title": "Bebauungsplan Nr. 47",
        "notice_id": "47",
        "version_hash": "cd" * 32,
        "slide": kiosk.store(data, "text/html"),
        "duration_s": 60,
        "valid_from": isoz(NOW - timedelta(days=1)),
        "valid_until": isoz(NOW + timedelta(days=1)),
        "assets": [],
    }


def case_warnings(kiosk: Kiosk, case_no: int, stufe: int, scenario: str, kind: str) -> list[dict]:
    # The QR code exactly as the server makes it for the manifest.
    qr = warnings_svc._qr(kiosk, "https://warnung.bund.de/meldungen/x")
    p = f"c{case_no}-"
    if scenario == "one":
        return [warning(p + "a", stufe, kind, 1, qr=qr)]
    if scenario == "two-live":
        return [
            warning(p + "a", stufe, kind, 1, sent=NOW - timedelta(minutes=30), qr=qr),
            warning(p + "b", stufe, kind, 2, sent=NOW - timedelta(minutes=5), qr=qr),
        ]
    if scenario == "live-plus-entwarnung":
        # The Entwarnung is the newer message: the old kiosk drew only it (issue 13).
        return [
            warning(p + "a", stufe, kind, 1, sent=NOW - timedelta(minutes=20), qr=qr),
            warning(p + "x", 1, kind, 2, cancel=True, sent=NOW - timedelta(minutes=1)),
        ]
    return [warning(p + "a", stufe, kind, 1, status="Exercise", qr=qr)]


# --- measuring in the page ---------------------------------------------------------------

WALK_JS = r"""
var done = arguments[arguments.length - 1];
var rev = arguments[0];
var k = window.aushangKiosk;
function $(id) { return document.getElementById(id); }
function shown(e) { return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'; }
function rect(e) { var r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
function overlap(a, b) { return Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1; }
function inside(a, b) { return a.l >= b.l - 1 && a.t >= b.t - 1 && a.r <= b.r + 1 && a.b <= b.b + 1; }
function rgb(s) { var m = s.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number); }
function lum(c) {
  var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function background(e) {
  for (; e && e.nodeType === 1; e = e.parentElement) {
    var c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
}
function contrast(e) {
  var a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
function name(e) { return e.id || e.className || e.tagName; }
function viewKey() {
  if (shown($('warning'))) {
    var c = k.current();
    return 'w:' + c.warning + ':' + c.language + ':' + c.warning_page;
  }
  if (shown($('rotation'))) {
    var r = k.current();
    return r.pages.length ? 's:' + r.key + ':' + r.page : null;
  }
  if (shown($('empty'))) return 'empty';
  return null;
}
var vw = window.innerWidth, vh = window.innerHeight, screenRect = {l: 0, t: 0, r: vw, b: vh};
function checkTexts(root, problems, texts) {
  // Every element with its own text: within the screen, not overflowing, legible contrast.
  root.querySelectorAll('*').forEach(function (e) {
    if (!shown(e)) return;
    var own = Array.prototype.some.call(e.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (!own) return;
    var r = rect(e);
    if (!inside(r, screenRect)) problems.push('off screen: ' + name(e));
    var block = getComputedStyle(e).display !== 'inline';
    if (block && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1))
      problems.push('overflows: ' + name(e) + ' ' + e.scrollWidth + 'x' + e.scrollHeight + ' > ' + e.clientWidth + 'x' + e.clientHeight);
    var ratio = contrast(e);
    if (ratio < 7) problems.push('contrast ' + ratio.toFixed(2) + ': ' + name(e));
    texts.push(e);
  });
}
function measure() {
  var problems = [], texts = [];
  var view = {key: viewKey(), problems: problems, strips: [], pieces: []};
  var strips = $('banner'), stale = $('stale'), stage = $('stage');
  var chrome = [strips, stale].filter(shown);
  chrome.forEach(function (c) { if (overlap(rect(c), rect(stage))) problems.push('strip overlaps the stage: ' + c.id); });
  if (shown(strips)) {
    checkTexts(strips, problems, texts);
    strips.querySelectorAll('.strip').forEach(function (s) {
      view.strips.push({id: s.getAttribute('data-alert'), text: s.textContent});
      if (!inside(rect(s), screenRect)) problems.push('strip off screen');
    });
  }
  if (shown($('warning'))) {
    var box = $('warning');
    view.kind = 'warning';
    view.entwarnung = box.classList.contains('entwarnung');
    checkTexts(box, problems, texts);
    var parts = ['.warning-head', '#w-headline', '#w-area', '#w-body', '#w-foot'].map(function (s) { return box.querySelector(s); }).filter(shown);
    for (var i = 0; i < parts.length; i++) {
      if (!inside(rect(parts[i]), rect(box))) problems.push('outside the warning: ' + name(parts[i]));
      for (var j = i + 1; j < parts.length; j++)
        if (overlap(rect(parts[i]), rect(parts[j]))) problems.push('overlap: ' + name(parts[i]) + ' / ' + name(parts[j]));
    }
    var h = $('w-headline');
    if (!inside(rect(h), rect(box)) || h.scrollHeight > h.clientHeight + 1 || h.scrollWidth > h.clientWidth + 1)
      problems.push('headline not fully visible');
    var body = rect($('w-body'));
    box.querySelectorAll('.w-sec').forEach(function (s) { if (!inside(rect(s), body)) problems.push('section clipped by the page'); });
    var qr = $('w-qr');
    if (shown(qr)) {
      if (!inside(rect(qr), rect($('w-foot')))) problems.push('QR outside the footer');
      if (overlap(rect(qr), rect(box.querySelector('.w-meta')))) problems.push('QR overlaps the footer text');
      if (!qr.complete || !qr.naturalWidth) problems.push('QR image not loaded');
    }
    view.qr = shown(qr);
    view.stufe = shown($('w-stufe')) ? $('w-stufe').textContent : '';
    view.area = shown($('w-area')) ? $('w-area-text').textContent : '';
    view.sender = $('w-sender').textContent;
    view.source = $('w-source').textContent;
    view.count = shown($('w-count')) ? $('w-count').textContent : '';
    view.label = shown($('w-label')) ? $('w-label').textContent : '';
    view.headline = h.textContent;
    view.headline_lang = h.getAttribute('lang');
    view.headline_dir = getComputedStyle(h).direction;
    box.querySelectorAll('[data-section]').forEach(function (t) {
      view.pieces.push({section: t.getAttribute('data-section'), lang: t.getAttribute('lang'), dir: getComputedStyle(t).direction, text: t.textContent});
    });
    var c = k.current();
    view.warning = c.warning; view.language = c.language; view.page = c.warning_page; view.pages = c.warning_pages;
  } else if (shown($('rotation'))) {
    view.kind = 'slide';
    var frame = document.querySelector('.slide-frame.active');
    var fr = rect(frame);
    if (!inside(fr, rect(stage))) problems.push('slide frame outside the stage');
    var doc = frame.contentDocument;
    var foot = doc.querySelector('footer'), svg = doc.querySelector('footer svg'), paged = doc.querySelector('[data-paged]');
    [foot, svg, doc.querySelector('h1')].forEach(function (e) {
      if (!e) { problems.push('slide part missing'); return; }
      var r = e.getBoundingClientRect();
      var abs = {l: r.left + fr.l, t: r.top + fr.t, r: r.right + fr.l, b: r.bottom + fr.t};
      if (!inside(abs, fr) || !inside(abs, screenRect)) problems.push('slide part clipped: ' + e.tagName);
      chrome.forEach(function (c) { if (overlap(abs, rect(c))) problems.push('strip covers the slide: ' + e.tagName); });
    });
    if (paged && paged.scrollHeight > paged.clientHeight + 1) problems.push('slide text overflows');
    view.dates = foot ? foot.textContent : '';
  } else {
    view.kind = shown($('empty')) ? 'empty' : 'other';
  }
  return view;
}
function settle(prev, cb, t0) {
  var key = viewKey();
  if (key && key !== prev) return cb();
  if (Date.now() - t0 > 8000) return cb('timeout waiting for the next view after ' + prev);
  setTimeout(function () { settle(prev, cb, t0); }, 15);
}
function current(plan) {
  // Until the next slide has loaded, the screen of the state before may still be up.
  if (!shown($('warning'))) return true;
  var id = k.current().warning;
  return plan.full_screen.indexOf(id) >= 0 || plan.alternate.indexOf(id) >= 0 || plan.banner_pages.indexOf(id) >= 0;
}
function start(t0) {
  var s = k && k.state();
  if (!s || s.rev !== rev || !viewKey() || !current(k.plan())) {
    if (Date.now() - t0 > 10000) return done({error: 'state ' + rev + ' not drawn'});
    return setTimeout(function () { start(t0); }, 15);
  }
  var plan = k.plan();
  var views = [], first = null, steps = 0;
  function loop(err) {
    if (err) return done({error: err, views: views, plan: plan});
    var key = viewKey();
    if (first === null) first = key;
    else if (key === first) return done({views: views, plan: plan});
    if (steps++ > 200) return done({error: 'no cycle in 200 views', views: views, plan: plan});
    whenLoaded(function () { step(key); });
  }
  function whenLoaded(cb) {
    // Images load asynchronously: measure once the QR code is in.
    var qr = $('w-qr');
    if (shown($('warning')) && !qr.hidden && !qr.complete) {
      var t = setTimeout(cb, 3000);
      qr.addEventListener('load', function () { clearTimeout(t); cb(); }, {once: true});
      return;
    }
    cb();
  }
  function step(key) {
    views.push(measure());
    if (plan.mode === 'rotation' && !plan.alternate.length && !plan.banner_pages.length) return done({views: views, plan: plan});
    var how = k.advance();
    if (how === 'takeover') return loop();
    settle(key, loop, Date.now());
  }
  loop();
}
start(Date.now());
"""


def cases() -> list[tuple[tuple[int, int], int, str, str]]:
    return [(s, st, sc, t) for s in SIZES for st in STUFEN for sc in SCENARIOS for t in TEXTS]


def _case_id(case: tuple[tuple[int, int], int, str, str]) -> str:
    (w, h), stufe, scenario, text = case
    return f"{w}x{h}-stufe{stufe}-{scenario}-{text}"


@pytest.fixture(scope="module")
def page(_driver: Any, kiosk: Kiosk) -> Any:
    SHOTS.mkdir(parents=True, exist_ok=True)
    _driver.set_script_timeout(60)
    _driver.get(kiosk.server.url)
    return _driver


_counter = iter(range(1, 10_000))


@pytest.mark.parametrize("case", cases(), ids=_case_id)
def test_warning_screen(page: Any, kiosk: Kiosk, case: tuple) -> None:
    (width, height), stufe, scenario, text = case
    case_no = next(_counter)
    page.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    orientation = "portrait" if height > width else "landscape"
    warnings = case_warnings(kiosk, case_no, stufe, scenario, text)
    validator = _validator()
    for w in warnings:
        errors = [e.message for e in validator.iter_errors(w)]
        assert not errors, errors
    test_display = scenario == "exercise-test-display"
    manifest = {
        "display": {"id": "7", "name": "Rathaus Foyer", "test_display": test_display},
        "items": [notice_slide(kiosk, orientation)],
        "warnings": warnings,
        "screen": {"timezone": "Europe/Berlin"},
    }
    kiosk.publish(manifest)
    rev = kiosk.server.state(None)["rev"]
    started = time.monotonic()
    result = page.execute_async_script(WALK_JS, rev)
    walked = time.monotonic() - started
    screenshot(page, SHOTS / f"{_case_id(case)}.jpg", width, height)
    assert "error" not in result, (
        result.get("error"),
        [v["key"] for v in result.get("views", [])][:12],
    )
    views, plan = result["views"], result["plan"]

    # The page's plan is the server's plan (one truth).
    expected = screen_plan(warnings, NOW, test_display).as_json()
    assert plan == expected
    problems = [f"{v['key']}: {p}" for v in views for p in v["problems"]]
    assert not problems, problems

    by_id = {w["id"]: w for w in warnings}
    live = [w for w in warnings if w["msg_type"] != "Cancel"]
    entwarnung = [w for w in warnings if w["msg_type"] == "Cancel"]
    seen_full = {v["warning"] for v in views if v["kind"] == "warning"}
    seen_strips = {s["id"] for v in views for s in v["strips"]}

    # Every live warning is on screen within one cycle; an Entwarnung never hides one. A
    # banner keeps its strip on every view and shows its full pages too (W12), unless a
    # takeover hides everything.
    for v in views:
        assert [s["id"] for s in v["strips"]] == plan["strips"], (v["key"], v["strips"])
    for w in live:
        if w["behaviour"] == "banner":
            assert w["id"] in seen_strips, (w["id"], views)
        if w["behaviour"] != "banner" or plan["mode"] != "takeover":
            assert w["id"] in seen_full, (w["id"], [v["key"] for v in views])
    for w in entwarnung:
        if any(x["behaviour"] != "banner" for x in live):
            assert w["id"] not in seen_full, "an Entwarnung took the screen of a live warning"
            assert w["id"] in seen_strips
        else:
            assert w["id"] in seen_full

    # W12: the pages of every section, concatenated, are the source text; each warning
    # page carries Warnstufe, area, issuer, source and the QR code.
    pages: dict[tuple[str, str], dict[int, list[dict]]] = {}
    for v in views:
        if v["kind"] != "warning":
            continue
        w = by_id[v["warning"]]
        pages.setdefault((v["warning"], v["language"]), {})[v["page"]] = v["pieces"]
        assert v["area"] == w["area"] and v["sender"] and v["source"] == "BBK/MoWaS", v
        if w["msg_type"] != "Cancel":
            assert v["stufe"].startswith(f"Warnstufe {stufe}"), v
            assert v["qr"], "no QR code on a warning page"
        else:
            assert v["entwarnung"] and v["stufe"] == "", "a Warnstufe on the all-clear screen"
        if w["status"] == "Exercise":
            assert v["label"] == "Übung"
        if len(plan["full_screen"]) > 1 and v["warning"] in plan["full_screen"]:
            index = plan["full_screen"].index(v["warning"]) + 1
            assert v["count"] == f"{index} von {len(plan['full_screen'])}"
        lang = next(i for i in w["languages"] if i["language"] == v["language"])
        assert v["headline"] == lang["headline"]
        if v["language"] == "ar":
            assert v["headline_dir"] == "rtl" and all(p["dir"] == "rtl" for p in v["pieces"])
    for (wid, language), by_page in pages.items():
        w = by_id[wid]
        info = next(i for i in w["languages"] if i["language"] == language)
        assert sorted(by_page) == list(range(len(by_page))), f"{wid}/{language}: a page was skipped"
        for section in ("description", "instruction"):
            shown = "".join(
                p["text"] for n in sorted(by_page) for p in by_page[n] if p["section"] == section
            )
            assert shown == info.get(section, ""), f"{wid}/{language}/{section} altered"
    for w in [x for x in warnings if x["id"] in seen_full]:
        assert {lang for (wid, lang) in pages if wid == w["id"]} == {
            i["language"] for i in w["languages"]
        }, "a language was not shown"
    for v in views:
        for s in v["strips"]:
            assert by_id[s["id"]]["headline"] in s["text"]
        if v["kind"] == "slide":
            assert re.search(r"Ausgehängt vom \d\d\.\d\d\.\d{4} bis", v["dates"])
    assert walked < 30
    assert console_failures(page) == []  # no CSP violation, no script error


def screenshot(driver: Any, path: Path, width: int, height: int) -> None:
    """A JPEG of the whole screen (4K at half scale): PNGs of 144 screens cost a minute."""
    scale = 0.5 if width * height > 4_000_000 else 1
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "jpeg", "quality": 70, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = {**SCHEMA, "$ref": "#/$defs/warning"}
    return Draft202012Validator(schema)
