"""Building blocks of the OpenAPI document (server/web/openapi.py), and the player
protocol's paths (v1 and v2), kept apart so each module stays readable."""

from __future__ import annotations

from typing import Any


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
