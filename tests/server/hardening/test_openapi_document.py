"""The published OpenAPI document is honest: every /api route of the app is in it, and
everything in it is a route of the app, with the same methods."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.web.openapi import CONTRACT_PATH

CONTRACT = json.loads(Path(CONTRACT_PATH).read_text(encoding="utf-8"))


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_every_api_route_is_documented_and_nothing_else(app, client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == _app_routes(app)


def test_player_schemas_are_the_contracts(client):
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert set(schemas) == set(CONTRACT["$defs"])
    text = json.dumps(doc)
    assert "#/$defs/" not in text  # every reference points into components
    for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text):
        # A name, or a JSON pointer into one (``screen_hours/properties/schedule``).
        node = schemas
        for part in ref.split("/"):
            assert isinstance(node, dict) and part in node, ref
            node = node[part]


def test_path_parameters_and_security_are_declared(client):
    doc = client.get("/api/openapi.json").get_json()
    schemes = set(doc["components"]["securitySchemes"])
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = set(re.findall(r"{([^}]+)}", path))
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == declared, (method, path)
            assert "security" in op, (method, path)
            for requirement in op["security"]:
                assert set(requirement) <= schemes
            assert op["responses"], (method, path)
