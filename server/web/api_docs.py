"""``/api``: the human page of the JSON APIs, rendered on the server from the OpenAPI
document (no third-party host, no script), with example CAP messages to start from.

The examples are real messages built by the same code that builds manual warnings:
Alert, Update and Cancel as CAP 1.2 XML and as CAP-as-JSON. tests/alerts/test_api_page.py
posts each of them, as printed on the page, and checks that they are accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, url_for

from ..domain.alerts import ManualTexts, ars_area, build_alert, build_cancel, build_update
from ..domain.alerts.model import Alert
from ..sources.cap import alert_to_cap_json, build_cap_xml
from .openapi import bp, document

EXAMPLE_ARS = "150030000000"  # Magdeburg: replace by the Regionalschlüssel of your area
EXAMPLE_SENDER = "leitstelle@beispiel-kreis.de"
BERLIN = ZoneInfo("Europe/Berlin")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Example:
    kind: str  # Alert | Update | Cancel
    title: str
    xml: str
    json: str


def _texts(headline: str, description: str) -> ManualTexts:
    return ManualTexts(
        event="Großbrand",
        category="Fire",
        headline=headline,
        description=description,
        instruction="Halten Sie Fenster und Türen geschlossen. Schalten Sie Lüftungen ab.",
        sender_name="Integrierte Leitstelle Beispielkreis",
        response_type="Shelter",
    )


def _sequence(prefix: str) -> list[Alert]:
    """Alert → Update → Cancel of one incident, each referencing the one before."""
    first = build_alert(
        identifier=f"{prefix}-1",
        sender=EXAMPLE_SENDER,
        sent=datetime(2026, 1, 15, 10, 0, tzinfo=BERLIN),
        warnstufe=2,
        texts=_texts(
            "Großbrand in einem Gewerbegebiet – starke Rauchentwicklung",
            "In einem Gewerbegebiet brennt eine Lagerhalle. Es entsteht starker Rauch.",
        ),
        areas=[ars_area("Magdeburg (Beispiel)", [EXAMPLE_ARS])],
    )
    update = build_update(
        first,
        identifier=f"{prefix}-2",
        sent=datetime(2026, 1, 15, 11, 30, tzinfo=BERLIN),
        warnstufe=3,
        texts=_texts(
            "Großbrand unter Kontrolle – Rauch zieht ab",
            "Die Feuerwehr hat den Brand unter Kontrolle. Der Rauch nimmt ab.",
        ),
    )
    cancel = build_cancel(
        update, identifier=f"{prefix}-3", sent=datetime(2026, 1, 15, 14, 0, tzinfo=BERLIN)
    )
    return [first, update, cancel]


TITLES = {
    "Alert": "Warnung (Alert)",
    "Update": "Aktualisierung (Update)",
    "Cancel": "Entwarnung (Cancel)",
}


@cache
def examples() -> tuple[Example, ...]:
    """The page's examples; XML and JSON sets have their own identifiers."""
    xml_set = _sequence("BEISPIEL-XML")
    json_set = _sequence("BEISPIEL-JSON")
    return tuple(
        Example(
            kind=x.msg_type,
            title=TITLES[x.msg_type],
            xml=build_cap_xml(x).decode("utf-8"),
            json=json.dumps(alert_to_cap_json(j), ensure_ascii=False, indent=2),
        )
        for x, j in zip(xml_set, json_set, strict=True)
    )


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, flattened for the template."""
    found = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "security": [name for req in op.get("security", []) for name in req],
                    "request": sorted(op.get("requestBody", {}).get("content", {})),
                    "responses": [
                        (code, r.get("description", "")) for code, r in op["responses"].items()
                    ],
                }
            )
    return found


def _cap_fields(doc: dict[str, Any]) -> list[tuple[str, bool, str]]:
    schema = doc["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema["properties"].items():
        kind = prop.get("type") or ("Auswahl" if "enum" in prop else "Text oder Liste")
        if "enum" in prop:
            kind = "eins von: " + ", ".join(prop["enum"])
        rows.append((name, name in required, str(kind)))
    return rows


@bp.get("/api")
def api_page() -> Response:
    doc = document()
    body = render_template(
        "public/api.html",
        doc=doc,
        operations=_operations(doc),
        cap_fields=_cap_fields(doc),
        examples=examples(),
        example_ars=EXAMPLE_ARS,
        post_url=url_for("alerts_public.post_alert", _external=True),
        openapi_url=url_for("openapi.openapi_json"),
    )
    response = current_app.response_class(body, mimetype="text/html")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
