"""Numbers into docs/performance.md: percentiles, tables, and a hand-written SVG plot.

Each benchmark section owns a block between ``<!-- bench:<name>:start -->`` and
``<!-- bench:<name>:end -->``; a run replaces only the blocks of the sections it ran, and
every block names its own date, commit and machine, so a partial run never mislabels
older numbers."""

from __future__ import annotations

import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:,.0f} ms"


def replace_block(text: str, name: str, body: str, heading: str) -> str:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    return text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"


def write_blocks(blocks: list[tuple[str, str, str]], doc: Path = DOC) -> None:
    doc.parent.mkdir(exist_ok=True)
    text = doc.read_text("utf-8") if doc.exists() else "# Performance\n"
    for name, heading, body in blocks:
        text = replace_block(text, name, body, heading)
    doc.write_text(text, "utf-8")


COLOURS = ["#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#555555"]


def cdf_svg(series: list[tuple[str, list[float]]], title: str, log_x: bool = True) -> str:
    """Cumulative distributions (share of players over latency) as a standalone SVG."""
    width, height = 760, 420
    left, right, top, bottom = 70, 20, 40, 110
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v > 0]
    if not values:
        values = [0.001, 1.0]
    lo = 10 ** math.floor(math.log10(max(min(values), 1e-3)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    if hi <= lo:
        hi = lo * 10

    def x(v: float) -> float:
        v = max(v, lo)
        if log_x:
            return left + plot_w * (math.log10(v) - math.log10(lo)) / (
                math.log10(hi) - math.log10(lo)
            )
        return left + plot_w * (v - lo) / (hi - lo)

    def y(share: float) -> float:
        return top + plot_h * (1 - share)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
    ]
    # grid
    decade = lo
    while decade <= hi * 1.0001:
        gx = x(decade)
        label = f"{decade * 1000:g} ms" if decade < 1 else f"{decade:g} s"
        out.append(
            f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{top + plot_h}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{gx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{label}</text>'
        )
        decade *= 10
    for share in (0, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0):
        gy = y(share)
        out.append(
            f'<line x1="{left}" y1="{gy:.1f}" x2="{left + plot_w}" y2="{gy:.1f}" stroke="#eee"/>'
        )
        out.append(f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end">{share:.0%}</text>')
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>'
    )
    out.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 34}" text-anchor="middle">'
        "latency after the trigger request (log scale)</text>"
    )
    for i, (name, vs) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        ordered = sorted(vs)
        if ordered:
            points = [f"{x(ordered[0]):.1f},{y(0):.1f}"]
            for k, v in enumerate(ordered, 1):
                points.append(f"{x(v):.1f},{y((k - 1) / len(ordered)):.1f}")
                points.append(f"{x(v):.1f},{y(k / len(ordered)):.1f}")
            out.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        ly = top + plot_h + 52 + 16 * (i // 2)
        lx = left + (i % 2) * plot_w / 2
        out.append(
            f'<line x1="{lx:.1f}" y1="{ly - 4}" x2="{lx + 24:.1f}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        out.append(f'<text x="{lx + 30:.1f}" y="{ly}">{name} (n={len(vs)})</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
