"""Accessibility and HTML validity checks for browser tests.

- ``assert_no_axe_violations(driver)``: axe-core (npm, ``node_modules/axe-core``) injected
  into the current page; fails listing every violation with its elements.
- ``assert_valid_html(html)``: the Nu HTML checker (npm ``vnu-jar``, needs Java) on
  documents as the server sent them (a browser's ``page_source`` is a re-serialised DOM
  without the doctype, so validate the raw response; see ``fetch_html``).

``make test`` installs both by ``npm ci``. Missing tools skip locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from server.config import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


# --- axe-core -------------------------------------------------------------------------

_AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done(JSON.stringify({violations: r.violations, url: r.url})))
  .catch(e => done(JSON.stringify({error: String(e)})));
"""


def axe_violations(driver: Any, tags: Iterable[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    """Run axe-core on the page in ``driver``; the list of violations."""
    if not AXE_JS.is_file():
        _missing(f"{AXE_JS} missing: run `npm ci` (make test does)")
    # WebDriver scripts are not subject to the page's CSP, so the strict policy stays on.
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = json.loads(driver.execute_async_script(_AXE_RUN, list(tags)))
    if "error" in result:
        raise AssertionError(f"axe-core failed on {driver.current_url}: {result['error']}")
    return result["violations"]


def format_violations(violations: list[dict[str, Any]], url: str = "") -> str:
    lines = [f"{len(violations)} axe-core violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- [{v.get('impact')}] {v['id']}: {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", [])[:10]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            lines.append(f"    at {target}: {summary}")
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_no_axe_violations(driver: Any, tags: Iterable[str] = WCAG_TAGS) -> None:
    """Fail with a readable list when axe-core finds WCAG violations on the page."""
    violations = axe_violations(driver, tags)
    if violations:
        pytest.fail(format_violations(violations, driver.current_url), pytrace=False)


# --- Nu HTML checker --------------------------------------------------------------------


def fetch_html(url: str, driver: Any | None = None) -> str:
    """The raw HTML the server sends for ``url``, with the browser's cookies if given."""
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    if driver is not None:
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
        if cookies:
            request.add_header("Cookie", cookies)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:  # error pages are pages too
        return exc.read().decode("utf-8")


def vnu_messages(documents: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Validate several documents in one Java start; messages per document name."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.is_file():
        _missing(f"Java or {VNU_JAR} missing: install Java 17 and run `npm ci`")
    with tempfile.TemporaryDirectory(prefix="vnu-") as tmp:
        paths: dict[str, str] = {}
        for i, (name, html) in enumerate(documents.items()):
            path = Path(tmp).resolve() / f"doc{i}.html"
            path.write_text(html, encoding="utf-8")
            paths[str(path)] = name
        proc = subprocess.run(
            [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", *paths],
            capture_output=True,
            text=True,
            timeout=180,
        )
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise AssertionError(f"vnu gave no JSON (exit {proc.returncode}): {proc.stderr}") from exc
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in documents}
    for message in report.get("messages", []):
        url = message.get("url", "?")
        name = paths.get(re.sub(r"^file:(//)?", "", url), url)
        out.setdefault(name, []).append(message)
    return out


def _html_errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def assert_valid_html(html: str | Mapping[str, str], name: str = "document") -> None:
    """Fail when the Nu HTML checker reports errors (warnings are shown, not fatal)."""
    documents = {name: html} if isinstance(html, str) else dict(html)
    problems = []
    for doc, messages in vnu_messages(documents).items():
        for m in _html_errors(messages):
            problems.append(
                f"- {doc}:{m.get('lastLine', '?')}:{m.get('firstColumn', '?')}: "
                f"{m.get('message')}\n    {m.get('extract', '').strip()[:160]}"
            )
    if problems:
        pytest.fail(
            f"{len(problems)} HTML error(s) by the Nu HTML checker:\n" + "\n".join(problems),
            pytrace=False,
        )
