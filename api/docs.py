"""The OpenAPI 3.1 document of API v1 and its route, ``GET /api/v1/openapi.json``.

spectree writes it from the endpoints' models and docstrings (``api.spec``); this module gives
it the API's own shape: paths under the ``/api/v1`` server, bearer security except on the public
operations, integer path ids with the database's maximum, and the schemas tidied for clients.
"""

from __future__ import annotations

import copy

from flask import jsonify

from api import bp
from api.spec import (
    MAX_INPUT_INT,
    OPTIONAL_BODY,
    PUBLIC,
    Output,
    operation,
    responses,
    spec,
    tidy,
)

PREFIX = "/api/v1"
DESCRIPTION = ("Employee engagement: people, pulse surveys, eNPS results, one-on-ones and milestone rewards. "
               'Errors are {"error": {"code", "message", "fields"?}}.')
#: What spectree cannot read from a URL rule: the values a path segment takes, what it means.
PATH_PARAMETERS = {
    "action": {"schema": {"type": "string", "enum": ["agree", "submit", "approve", "request-changes", "pay",
                                                     "cancel"]}},
    "key": {"description": "The meeting's key (see OneOnOneOccurrence)."},
}

_document: dict | None = None


def document() -> dict:
    """The document (built once: the routes and models do not change while the app runs)."""
    global _document
    if _document is None:
        _document = _build(copy.deepcopy(spec.spec))
    return copy.deepcopy(_document)


def _build(raw: dict) -> dict:
    paths = {}
    for path, item in sorted(raw["paths"].items()):
        for method, op in item.items():
            if not op.get("description"):
                op.pop("description", None)
            if not op.get("tags"):
                op.pop("tags", None)
            if op["operationId"] in PUBLIC:
                op["security"] = []
            if op["operationId"] in OPTIONAL_BODY:
                op["requestBody"]["required"] = False
            if "requestBody" not in op and not any(p["in"] == "query" for p in op.get("parameters", [])):
                op["responses"].pop("422", None)  # spectree adds it everywhere; nothing here can be invalid
            for parameter in op.get("parameters", []):
                if not parameter.get("description"):
                    parameter.pop("description", None)
                if parameter["in"] == "path":
                    parameter.update(copy.deepcopy(PATH_PARAMETERS.get(parameter["name"], {})))
                    if parameter["schema"].get("type") == "integer":
                        parameter["schema"] = {"type": "integer", "maximum": MAX_INPUT_INT}
                else:
                    parameter["schema"] = tidy(parameter["schema"])
                    if not parameter.get("required"):
                        parameter.pop("required", None)
            item[method] = op
        paths[path.removeprefix(PREFIX) or "/"] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Polso API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": {name: tidy(schema) for name, schema in sorted(raw["components"]["schemas"].items())
                                   if not name.endswith("Query")},  # those are parameters
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


class OpenAPIDocument(Output):
    """An OpenAPI 3.1 document (see https://spec.openapis.org/oas/v3.1.0)."""

    openapi: str
    info: dict[str, str]
    servers: list[dict[str, str]]
    security: list[dict[str, list[str]]]
    paths: dict[str, dict[str, dict]]
    components: dict[str, dict[str, dict]]


@bp.get("/openapi.json")
@operation(public=True, responses=responses({200: OpenAPIDocument}))
def openapi():
    """This document"""
    return jsonify(document())
