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

CONTRACT_PATH = PROJECT_ROOT / "contract" / "player-protocol-v1.schema.json"
bp = Blueprint("openapi", __name__)


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("problem")}},
    }


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

_PLAYER_AUTH: list[dict[str, list[str]]] = [{"playerToken": []}]
_UNAUTHORIZED = _problem("Token fehlt, ist unbekannt oder widerrufen.")


def _player_v2_paths() -> dict[str, Any]:
    """Protocol v2 (contract/player-protocol-v2.md): snapshot and stream; reports stay v1."""
    channels = {"Aushang-Channels": {"schema": {"type": "string"}}}
    return {
        "/api/player/v2/state": {
            "get": {
                "operationId": "playerState",
                "summary": "Vollständiger Stand (Manifest) und die Kanäle des Streams",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": '^(W/)?"[^"]*"$'},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Das Manifest; Aushang-Channels nennt die Kanäle.",
                        "headers": {"ETag": {"schema": {"type": "string"}}, **channels},
                        "content": {"application/json": {"schema": _ref("manifest")}},
                    },
                    "304": {"description": "Unverändert seit If-None-Match.", "headers": channels},
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/player/v2/stream": {
            "get": {
                "operationId": "playerStream",
                "summary": "Server-Sent Events der eigenen Kanäle (c=…), Last-Event-ID holt nach",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {"name": "c", "in": "query", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {"description": "text/event-stream"},
                    "400": _problem("Kanäle fehlen oder sind ungültig."),
                    "401": _UNAUTHORIZED,
                    "403": _problem("Ein Kanal gehört nicht zu dieser Anzeige."),
                },
            }
        },
        "/api/player/v2/stream-auth": {
            "get": {
                "operationId": "playerStreamAuth",
                "summary": "Nur für nginx (nchan_authorize_request): darf dieser Stream öffnen?",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {
                        "name": "X-Original-URI",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^/"},
                    }
                ],
                "responses": {
                    "200": {"description": "Erlaubt."},
                    "401": _UNAUTHORIZED,
                    "403": _problem("Ein Kanal gehört nicht zu dieser Anzeige."),
                    "404": {"description": "Nicht vom Push-Server gefragt."},
                },
            }
        },
    }


def _player_paths() -> dict[str, Any]:
    bad_body = _problem("Kein gültiges JSON.")
    invalid = _problem("Der Inhalt passt nicht zum Vertrag.")
    return {
        "/api/player/v1/enroll": {
            "post": {
                "operationId": "playerEnroll",
                "summary": "Anmeldung: Kopplungscode anfordern oder mit Bereitstellungsschlüssel koppeln",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("enroll_request")}},
                },
                "responses": {
                    "201": _json(
                        {"oneOf": [_ref("enroll_pairing_response"), _ref("enroll_token_response")]},
                        "Kopplungscode (ohne Bereitstellungsschlüssel) oder Token.",
                    ),
                    "400": bad_body,
                    "401": _UNAUTHORIZED,
                    "403": _problem("Bereitstellungsschlüssel abgelehnt."),
                    "422": invalid,
                    "429": _problem("Zu viele Versuche von dieser Adresse."),
                },
            }
        },
        "/api/player/v1/enroll/{code}": {
            "get": {
                "operationId": "playerEnrollPoll",
                "summary": "Kopplung abfragen (Bearer = claim_secret)",
                "security": [{"claimSecret": []}],
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                    }
                ],
                "responses": {
                    "200": _json(_ref("enroll_token_response"), "Gekoppelt: das Token."),
                    "202": _json(_ref("enroll_poll_response"), "Noch nicht gekoppelt."),
                    "401": _UNAUTHORIZED,
                    "404": _problem("Unbekannter Code oder falsches claim_secret."),
                    "410": _problem("Code abgelaufen."),
                },
            }
        },
        "/api/player/v1/manifest": {
            "get": {
                "operationId": "playerManifest",
                "summary": "Manifest (Long-Poll mit If-None-Match und wait)",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {
                        "name": "wait",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 60},
                    },
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Das Manifest dieser Anzeige.",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": _ref("manifest")}},
                    },
                    "304": {"description": "Unverändert seit If-None-Match."},
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/player/v1/assets/{sha256}": {
            "get": {
                "operationId": "playerAsset",
                "summary": "Eine Folie oder Datei aus dem Manifest dieser Anzeige",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {
                        "name": "sha256",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Die Bytes (Content-Type = media_type aus dem Manifest).",
                        "content": {"*/*": {"schema": {}}},
                    },
                    "304": {"description": "Unverändert."},
                    "401": _UNAUTHORIZED,
                    "404": _problem("Nicht im Manifest dieser Anzeige."),
                },
            }
        },
        "/api/player/v1/heartbeat": {
            "post": {
                "operationId": "playerHeartbeat",
                "summary": "Herzschlag",
                "security": _PLAYER_AUTH,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("heartbeat")}},
                },
                "responses": {
                    "200": _json(_ref("heartbeat_response"), "Gespeichert; Serverzeit."),
                    "400": bad_body,
                    "401": _UNAUTHORIZED,
                    "422": invalid,
                },
            }
        },
        "/api/player/v1/events": {
            "post": {
                "operationId": "playerEvents",
                "summary": "Abspielnachweise und Fehler (idempotent je id)",
                "security": _PLAYER_AUTH,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("events_batch")}},
                },
                "responses": {
                    "200": _json(_ref("events_response"), "Gespeichert."),
                    "400": bad_body,
                    "401": _UNAUTHORIZED,
                    "422": invalid,
                },
            }
        },
        "/api/player/v1/alerts/{alert_id}/ack": {
            "post": {
                "operationId": "playerAlertAck",
                "summary": "Quittung einer Warnung (idempotent)",
                "security": _PLAYER_AUTH,
                "parameters": [
                    {
                        "name": "alert_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("alert_ack")}},
                },
                "responses": {
                    "200": _json(_ref("alert_ack_response"), "Quittung gespeichert."),
                    "400": bad_body,
                    "401": _UNAUTHORIZED,
                    "403": _problem("Quittung für ein anderes Gerät."),
                    "404": _problem("Diese Warnung gibt es für dieses Gerät nicht."),
                    "422": invalid,
                },
            }
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
