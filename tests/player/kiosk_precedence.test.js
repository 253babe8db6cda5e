// node --test: the kiosk's precedence rule against the shared table of cases, plus
// properties over seeded random sets. Run by tests/player/test_kiosk_precedence.py.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const repo = path.resolve(__dirname, "..", "..");
const { screenPlan, rotationCycle } = require(path.join(repo, "player", "kiosk", "precedence.js"));
const table = JSON.parse(
  fs.readFileSync(path.join(repo, "contract", "warning-precedence-cases.json"), "utf8"));

for (const c of table.cases) {
  test(`case: ${c.name}`, () => {
    const plan = screenPlan(c.warnings, c.now, c.is_test_display);
    assert.deepEqual(plan, c.expect);
    if (c.items) assert.deepEqual(rotationCycle(c.items, plan), c.cycle);
  });
}

// A small seeded PRNG (mulberry32), so a failure is reproducible.
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const NOW = Date.parse("2026-12-03T10:00:00Z");
const iso = (minutes) => new Date(NOW + minutes * 60000).toISOString();

function randomSet(r) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const n = Math.floor(r() * 8);
  const out = [];
  for (let i = 0; i < n; i++) {
    const cancel = r() < 0.4;
    out.push({
      id: "w" + i,
      behaviour: cancel ? "takeover" : pick(["takeover", "alternate", "banner"]),
      msg_type: cancel ? "Cancel" : pick(["Alert", "Update"]),
      status: pick(["Actual", "Actual", "Exercise", "Test"]),
      warnstufe: 1 + Math.floor(r() * 3),
      sent: iso(-Math.floor(r() * 600)),
      expires: cancel || r() < 0.4 ? null : iso(Math.floor(r() * 240) - 120),
      entwarnung_until: cancel && r() < 0.9 ? iso(Math.floor(r() * 240) - 120) : null,
    });
  }
  return out;
}

function live(ws, testDisplay) {
  return ws.filter((w) => w.msg_type !== "Cancel"
    && (w.expires === null || Date.parse(w.expires) > NOW)
    && (w.status === "Actual" || testDisplay));
}

test("properties: no live warning hidden, an Entwarnung never hides a live warning", () => {
  const r = rng(13);
  for (let run = 0; run < 3000; run++) {
    const ws = randomSet(r);
    const testDisplay = r() < 0.5;
    const plan = screenPlan(ws, NOW, testDisplay);
    const cycle = plan.full_screen.concat(plan.alternate, plan.strips);
    const liveWs = live(ws, testDisplay);
    for (const w of liveWs) {
      assert.equal(cycle.filter((id) => id === w.id).length, 1, JSON.stringify({ ws, plan }));
    }
    const liveFull = liveWs.filter((w) => w.behaviour !== "banner");
    const cancels = new Set(ws.filter((w) => w.msg_type === "Cancel").map((w) => w.id));
    if (liveFull.length) {
      assert.notEqual(plan.mode, "entwarnung", JSON.stringify({ ws, plan }));
      assert.ok(plan.full_screen.every((id) => !cancels.has(id)));
    }
    if (!testDisplay) {
      const drill = new Set(ws.filter((w) => w.status !== "Actual").map((w) => w.id));
      assert.ok(cycle.concat(plan.banner_pages).every((id) => !drill.has(id)));
    }
  }
});

test("properties: every live warning's full text is shown within one cycle (W12)", () => {
  const r = rng(12);
  for (let run = 0; run < 3000; run++) {
    const ws = randomSet(r);
    const testDisplay = r() < 0.5;
    const plan = screenPlan(ws, NOW, testDisplay);
    const why = JSON.stringify({ ws, plan });
    const full = plan.full_screen.concat(plan.alternate, plan.banner_pages);
    for (const w of live(ws, testDisplay)) {
      if (plan.mode === "takeover" && w.behaviour === "banner") {
        // The takeover hides everything but the strips.
        assert.ok(plan.strips.includes(w.id) && !full.includes(w.id), why);
      } else {
        assert.equal(full.filter((id) => id === w.id).length, 1, why);
      }
    }
    const items = Array.from({ length: Math.floor(r() * 5) }, (_, i) => "n" + i);
    const cycle = rotationCycle(items, plan);
    if (plan.mode !== "rotation") {
      assert.deepEqual(cycle, [], why);
      continue;
    }
    assert.deepEqual(cycle.filter((e) => e.startsWith("item:")), items.map((i) => "item:" + i));
    for (const id of full) assert.ok(cycle.includes("warning:" + id), why);
    const last = items.length ? cycle.indexOf("item:" + items[items.length - 1]) : -1;
    for (const id of plan.banner_pages) {
      // Once per cycle, after the last slide: a banner costs the cycle only its own pages (D3).
      assert.equal(cycle.filter((e) => e === "warning:" + id).length, 1, why);
      assert.ok(cycle.indexOf("warning:" + id) > last, why);
    }
  }
});

// Cross-check with the Python twin: a JSON list of {warnings, now, is_test_display} on
// AUSHANG_PRECEDENCE_CROSSCHECK is answered with the plans, written to the path given.
if (process.env.AUSHANG_PRECEDENCE_CROSSCHECK) {
  test("cross-check input from the Python side", () => {
    const input = JSON.parse(fs.readFileSync(process.env.AUSHANG_PRECEDENCE_CROSSCHECK, "utf8"));
    const plans = input.map((c) => screenPlan(c.warnings, c.now, c.is_test_display));
    fs.writeFileSync(process.env.AUSHANG_PRECEDENCE_CROSSCHECK + ".out", JSON.stringify(plans));
  });
}
