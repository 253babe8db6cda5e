"""JSON Feed 1.1 against a schema written from the published specification."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from feeds import build_json_feed

SCHEMA = json.loads((Path(__file__).parent / "jsonfeed-1.1.schema.json").read_text("utf-8"))


def load(meta, entries):
    data = json.loads(build_json_feed(meta, entries).decode("utf-8"))
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    return data


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_schema_rejects_what_the_spec_forbids():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "version": "https://jsonfeed.org/version/1"})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "items"})
    assert not validator.is_valid({**good, "items": [{"content_text": "x"}]})  # no id
    assert not validator.is_valid({**good, "items": [{"id": "1"}]})  # no content
    assert not validator.is_valid({**good, "unknown": 1})  # extensions need "_"
    assert validator.is_valid({**good, "_ext": {"about": "https://example.org/"}})
    bad_attachment = {"id": "1", "content_text": "x", "attachments": [{"url": "https://a/"}]}
    assert not validator.is_valid({**good, "items": [bad_attachment]})


def test_feed_validates_and_carries_metadata(meta, make_entry):
    entry = make_entry()
    data = load(replace(meta, self_url=meta.self_url.replace(".rss", ".json")), [entry])
    assert data["feed_url"].endswith("/notices.json")
    assert data["home_page_url"] == meta.html_url
    assert data["language"] == "de"
    assert data["_aushang"]["updated"] == "2026-03-10T09:30:00Z"
    (item,) = data["items"]
    assert item["id"] == entry.id
    assert item["url"] == entry.link
    assert item["date_published"] == "2026-03-02T08:00:00Z"
    assert item["tags"] == ["Satzungen"]
    assert [(a["url"], a["mime_type"], a["size_in_bytes"]) for a in item["attachments"]] == [
        (enc.url, enc.media_type, enc.length) for enc in entry.enclosures
    ]
    ext = item["_aushang"]
    assert ext["about"] == meta.docs_url
    assert ext["provided_on"] == "2026-03-02"
    assert (ext["posting_start"], ext["posting_end"]) == ("2026-03-02", "2026-03-16")
    assert ext["category"] == "Satzungen" and ext["category_slug"] == "satzungen"
    assert ext["file_number"] == "20.1-0815/2026"
    assert ext["content_hash"] == {"algorithm": "sha256", "value": entry.content_hash}
    assert [a["sha256"] for a in ext["attachments"]] == [e.sha256 for e in entry.enclosures]


def test_tricky_text_round_trips(meta, nasty_entry):
    raw = build_json_feed(meta, [nasty_entry])
    (item,) = load(meta, [nasty_entry])["items"]
    assert item["title"] == nasty_entry.title and item["summary"] == nasty_entry.title
    assert item["content_text"].startswith(nasty_entry.title)
    assert "&lt;script&gt; &amp; „Anführung“ 🎉 äöü" in item["content_html"]
    assert item["_aushang"]["file_number"] == "Az. 1/2026; A,B \\ C"
    assert "🎉".encode() in raw  # real UTF-8, not \\u escapes


def test_three_versions_three_stable_ids(meta, three_versions, make_entry):
    ids = [item["id"] for item in load(meta, three_versions)["items"]]
    assert len(set(ids)) == 3
    again = [item["id"] for item in load(meta, [make_entry(version=n) for n in (3, 1, 2)])["items"]]
    assert again == ids


def test_deterministic(meta, three_versions):
    assert build_json_feed(meta, three_versions) == build_json_feed(meta, three_versions[::-1])


@pytest.mark.parametrize("count", [0, 1])
def test_small_feeds_validate(meta, make_entry, count):
    load(meta, [make_entry(enclosures=())][:count])
