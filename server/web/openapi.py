"""The OpenAPI 3.1 description of the JSON APIs, published at ``/api/openapi.json``.

One source of truth for the player side: the request and answer bodies are the
contract's JSON Schema definitions (contract/player-protocol-v1.schema.json), copied
into ``components/schemas`` with their ``$ref``\\ s rewritten. The control-centre API's
CAP-as-JSON body is described here. tests/server/web/test_openapi.py checks that every
``/api`` route of the app is documented and that nothing documented is missing, and
schemathesis fuzzes the document against the app.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app

from ..config import PROJECT_ROOT
from .openapi_player import _json, _player_paths, _player_v2_paths, _problem, _rewrite_refs

CONTRACT_PATH = PROJECT_ROOT / "contract" / "player-protocol-v1.schema.json"
bp = Blueprint("openapi", __name__)


_CAP_TEXT = {"type": "string", "maxLength": 10000}
# CAP 1.2 dateTime (the XSD's pattern, with ranges): every day of the month, any offset
# a real zone has. Whether 31 February exists is for the server to say (400), not the
# pattern; years follow server.domain.alerts.model.CAP_YEARS.
CAP_DATETIME_PATTERN = (
    "^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][+-]([01][0-9]|2[0-3]):[0-5][0-9]$"
)
_CAP_TIME = {"type": "string", "pattern": CAP_DATETIME_PATTERN}
_CAP_VALUE_PAIR = {
    "type": "object",
    "required": ["valueName", "value"],
    "properties": {"valueName": {"type": "string"}, "value": {"type": "string"}},
}
_CAP_JSON: dict[str, Any] = {
    "description": "A CAP 1.2 message as JSON: CAP element names as keys, repeated "
    "elements as lists (as NINA publishes it).",
    "type": "object",
    "required": ["identifier", "sender", "sent", "status", "msgType", "scope"],
    "properties": {
        "identifier": {"type": "string", "minLength": 1, "maxLength": 200},
        "sender": {"type": "string", "minLength": 1, "maxLength": 200},
        "sent": {
            "type": "string",
            "description": "CAP dateTime with an explicit offset (no 'Z')",
            "pattern": CAP_DATETIME_PATTERN,
        },
        "status": {"enum": ["Actual", "Exercise", "System", "Test", "Draft"]},
        "msgType": {"enum": ["Alert", "Update", "Cancel", "Ack", "Error"]},
        "scope": {"enum": ["Public", "Restricted", "Private"]},
        "source": _CAP_TEXT,
        "restriction": _CAP_TEXT,
        "addresses": _CAP_TEXT,
        "code": {"type": "array", "items": {"type": "string"}},
        "note": _CAP_TEXT,
        "references": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        },
        "incidents": _CAP_TEXT,
        "info": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "language": {"type": "string"},
                    "category": {"type": "array", "items": {"type": "string"}},
                    "event": _CAP_TEXT,
                    "urgency": {"type": "string"},
                    "severity": {"type": "string"},
                    "certainty": {"type": "string"},
                    "headline": _CAP_TEXT,
                    "description": _CAP_TEXT,
                    "instruction": _CAP_TEXT,
                    "senderName": _CAP_TEXT,
                    "web": _CAP_TEXT,
                    "effective": _CAP_TIME,
                    "onset": _CAP_TIME,
                    "expires": _CAP_TIME,
                    "parameter": {"type": "array", "items": _CAP_VALUE_PAIR},
                    "eventCode": {"type": "array", "items": _CAP_VALUE_PAIR},
                    "area": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "areaDesc": _CAP_TEXT,
                                "polygon": {"type": "array", "items": {"type": "string"}},
                                "circle": {"type": "array", "items": {"type": "string"}},
                                "geocode": {"type": "array", "items": _CAP_VALUE_PAIR},
                            },
                        },
                    },
                },
            },
        },
    },
}
_ALERT_RECEIVED: dict[str, Any] = {
    "type": "object",
    "required": ["id", "identifier", "msgType", "status", "duplicate", "targets", "cap"],
    "properties": {
        "id": {"type": "integer"},
        "identifier": {"type": "string"},
        "msgType": {"type": "string"},
        "status": {"type": "string"},
        "phase": {"type": "string"},
        "warnstufe": {"type": ["integer", "null"]},
        "behaviour": {"type": ["string", "null"]},
        "duplicate": {"type": "boolean"},
        "applied": {
            "type": "boolean",
            "description": "false: stored but not applied (a repetition, or older than the "
            "stored version of this identifier)",
        },
        "outOfOrder": {"type": "boolean"},
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"kind": {"type": "string"}, "key": {"type": ["string", "null"]}},
            },
        },
        "targets": {"type": "array", "items": {"type": "string"}},
        "cap": {"type": "string", "format": "uri"},
    },
}


def _alerts_paths() -> dict[str, Any]:
    return {
        "/api/v1/alerts": {
            "post": {
                "operationId": "postAlert",
                "summary": "Warnung einer Leitstelle einliefern (CAP 1.2 als XML oder JSON)",
                "security": [{"alertsToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _CAP_JSON},
                        "application/cap+xml": {
                            "schema": {"type": "string", "description": "CAP 1.2 XML"}
                        },
                    },
                },
                "responses": {
                    "200": _json(
                        _ALERT_RECEIVED,
                        "Schon bekannt (Wiederholung) oder älter als die gespeicherte Fassung "
                        "derselben Kennung: gespeichert, nicht angewendet.",
                    ),
                    "201": {
                        **_json(_ALERT_RECEIVED, "Angenommen."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "400": _problem("Keine gültige CAP-Meldung."),
                    "401": _problem("Zugangsschlüssel fehlt."),
                    "403": _problem(
                        "Zugangsschlüssel unbekannt, abgelaufen oder ohne Recht; Warngebiet "
                        "außerhalb der erlaubten Mandanten; oder Update/Cancel einer Meldung "
                        "eines anderen Absenders oder aus NINA."
                    ),
                    "409": _problem(
                        "Kennung gehört zu einer Meldung eines anderen Absenders oder aus NINA."
                    ),
                    "413": _problem("Meldung zu groß."),
                    "415": _problem("Nicht unterstütztes Format."),
                    "422": _problem(
                        "Meldung unvollständig oder widersprüchlich; oder ein Update/Cancel, "
                        "das vor der Meldung gesendet wurde, auf die es verweist "
                        "(reason: predates_reference)."
                    ),
                    "503": {
                        **_problem("Datenbank nicht erreichbar: später erneut senden."),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    },
                },
            }
        }
    }


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built once per process)."""
    contract = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    schemas = _rewrite_refs(contract["$defs"])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Aushang JSON-APIs",
            "version": "1",
            "description": "Die Schnittstelle für Leitstellen (Warnungen einliefern) und das "
            "Protokoll der Anzeigegeräte (Version 1). Fehler antworten als "
            "application/problem+json (RFC 9457).",
        },
        "externalDocs": {
            "description": "Beschreibung für Menschen, mit Beispielmeldungen zum Ausprobieren",
            "url": "/api",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "Dieses Dokument",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object"}, "OpenAPI 3.1"),
                    },
                }
            },
            **_alerts_paths(),
            **_player_paths(),
            **_player_v2_paths(),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "alertsToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API-Zugangsschlüssel mit Recht „alerts“ (Verwaltung).",
                },
                "playerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Token eines gekoppelten Anzeigegeräts.",
                },
                "claimSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "claim_secret aus der Antwort auf POST enroll.",
                },
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    body = json.dumps(document(), ensure_ascii=False, indent=1)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
