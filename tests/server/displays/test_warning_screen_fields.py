"""The manifest warning carries what the warning screen needs: area, Warnstufe, a QR code
that a browser can draw, and a QR target for warnings without an official web page."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import jsonschema

from server.config import PROJECT_ROOT
from server.domain.alerts.model import Area
from server.domain.alerts.policy import Behaviour, Presentation, Source
from server.services.displays.warnings import warning_json
from server.services.files import BlobStore

SCHEMA = json.loads((PROJECT_ROOT / "contract" / "player-protocol-v1.schema.json").read_text())


def _alert(web: str | None) -> SimpleNamespace:
    info = SimpleNamespace(
        language="de-DE", event="Hochwasser", headline="Hochwasser an der Lahn",
        description="Der Pegel steigt.", instruction="Meiden Sie die Ufer.",
        sender_name="Kreis Marburg-Biedenkopf", web=web,
        areas=(Area("Marburg"), Area("Cölbe"), Area("Marburg")),
    )  # fmt: skip
    record = SimpleNamespace(
        id=5, identifier="DE-HE-5", msg_type="Alert", severity="Severe", headline="",
        event="", sender_name=None, sender="x@example.org",
        sent=datetime(2026, 12, 3, 9, tzinfo=UTC), expires=None, all_clear_until=None,
    )  # fmt: skip
    shown = Presentation(Behaviour.ALTERNATE, 2, Source.MANUAL, "Quelle: Vor Ort", None)
    return SimpleNamespace(
        record=record, alert=SimpleNamespace(infos=[info], status="Actual"), presentation=shown
    )


def test_area_warnstufe_and_a_qr_code_to_the_public_page(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = warning_json(_alert(None), store, "https://aushang.example/musterstadt/warnungen")
    assert data["area"] == "Marburg, Cölbe"
    assert data["warnstufe"] == 2
    assert data["qr"]["url"] == "https://aushang.example/musterstadt/warnungen"
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": "#/$defs/warning"}).validate(data)


def test_the_official_web_page_wins_and_the_svg_file_is_drawable(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = warning_json(_alert("https://warnung.bund.de/meldungen/5"), store, "https://x/")
    assert data["qr"]["url"] == "https://warnung.bund.de/meldungen/5"
    svg = store.path_for(data["qr"]["image"]["sha256"]).read_bytes()
    # Shown by <img>: a file without the SVG namespace draws nothing in a browser.
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
