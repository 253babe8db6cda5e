"""Tag URIs and the package boundary of feeds/."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from feeds import feed_tag, notice_tag, tag_authority, version_tag

FEEDS_DIR = Path(__file__).resolve().parents[2] / "feeds"


def test_tag_uris_follow_rfc_4151():
    notice = notice_tag(
        "https://Aushang.Example.DE:8443/x", date(2026, 3, 1), "beispiel", "2026-0007"
    )
    assert notice == "tag:aushang.example.de,2026-03-01:beispiel/2026-0007"
    assert version_tag(notice, 2) == notice + "/v2"
    assert notice_tag("aushang.example.de", date(2026, 3, 1), "a b", "ä/1").endswith(
        ":a%20b/%C3%A4%2F1"
    )
    assert feed_tag("aushang.example.de", date(2026, 1, 1), "beispiel/feeds/notices") == (
        "tag:aushang.example.de,2026-01-01:beispiel/feeds/notices"
    )


@pytest.mark.parametrize("bad", ["", "http://", "exa mple.de", "-x.de"])
def test_unusable_hosts_are_refused(bad):
    with pytest.raises(ValueError):
        tag_authority(bad)


def test_versions_count_from_one():
    with pytest.raises(ValueError):
        version_tag("tag:x.de,2026-01-01:a/1", 0)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_feeds_is_pure_and_feedgen_has_one_adapter():
    files = sorted(FEEDS_DIR.glob("*.py"))
    assert files
    users_of_feedgen = []
    for path in files:
        imported = _imports(path)
        assert not imported & {"server", "flask", "sqlalchemy", "requests", "player"}, path
        if "feedgen" in imported:
            users_of_feedgen.append(path.name)
    assert users_of_feedgen == ["syndication.py"]
