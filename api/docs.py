"""The OpenAPI 3.1 document of API v1 and its route, ``GET /api/v1/openapi.json``."""

from __future__ import annotations

from flask import jsonify

from api import bp
from api.openapi import document


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
