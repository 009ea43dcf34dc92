"""The OpenAPI 3.1 document for API v1, served at ``/api/v1/openapi.json``.

Kept beside the endpoints as plain data; a test checks every API route is described.
"""

from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "Malformed request", 401: "Missing or invalid bearer token", 403: "Role not allowed",
            404: "Not found", 409: "Conflict with the current state", 422: "Invalid fields",
            429: "Too many attempts"}
    return {str(c): {"description": text[c], **_json(_ref("Error"))} for c in codes}


SCHEMAS: dict = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Each invalid field with its message."},
            },
        }},
    },
    "Department": {
        "type": "object",
        "required": ["id", "name", "parent_id"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "parent_id": {"type": ["integer", "null"]}},
    },
    "DepartmentInput": {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 120},
                       "parent_id": {"type": ["integer", "null"]}},
    },
    "Employee": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "email": {"type": "string", "format": "email"},
            "name": {"type": "string"}, "department_id": {"type": ["integer", "null"]},
            "manager_email": {"type": ["string", "null"]},
            "role": {"enum": ["employee", "hr_admin"]}, "kind": {"enum": ["employee", "contractor"]},
            "active": {"type": "boolean"}, "hired_on": {"type": ["string", "null"], "format": "date"},
            "locale": {"enum": ["en", "it", None]}, "timezone": {"type": "string"},
        },
    },
    "EmployeeInput": {
        "type": "object", "required": ["email", "name"], "additionalProperties": False,
        "properties": {
            "email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": 120},
            "department_id": {"type": ["integer", "null"]},
            "department": {"type": ["string", "null"], "description": "Department name, created if missing."},
            "manager_email": {"type": ["string", "null"], "format": "email"},
            "role": {"enum": ["employee", "hr_admin"]}, "kind": {"enum": ["employee", "contractor"]},
            "hired_on": {"type": ["string", "null"], "format": "date"},
            "locale": {"enum": ["en", "it", None]}, "timezone": {"type": ["string", "null"]},
            "active": {"type": "boolean"},
        },
    },
}

PATHS: dict = {
    "/auth/token": {"post": {
        "summary": "Exchange e-mail and password for a bearer token", "security": [],
        "requestBody": {"required": True, **_json({
            "type": "object", "required": ["email", "password"],
            "properties": {"email": {"type": "string"}, "password": {"type": "string"}}})},
        "responses": {"201": {"description": "Token", **_json({
            "type": "object", "properties": {"token": {"type": "string"}, "token_type": {"const": "Bearer"}}})},
            **_errors(400, 401, 422, 429)},
    }},
    "/departments": {
        "get": {"summary": "List departments (hr_admin)", "responses": {
            "200": {"description": "Departments", **_json({"type": "object", "properties": {
                "items": {"type": "array", "items": _ref("Department")}}})}, **_errors(401, 403)}},
        "post": {"summary": "Create a department (hr_admin)",
                 "requestBody": {"required": True, **_json(_ref("DepartmentInput"))},
                 "responses": {"201": {"description": "Created", **_json(_ref("Department"))},
                               **_errors(400, 401, 403, 422)}},
    },
    "/employees": {
        "get": {"summary": "List people, paginated (hr_admin)",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                    "maximum": 200}}],
                "responses": {"200": {"description": "A page of people", **_json({
                    "type": "object", "properties": {
                        "items": {"type": "array", "items": _ref("Employee")},
                        "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "total": {"type": "integer"}, "pages": {"type": "integer"}}})},
                    **_errors(401, 403, 422)}},
        "post": {"summary": "Create or update a person by e-mail (hr_admin)",
                 "requestBody": {"required": True, **_json(_ref("EmployeeInput"))},
                 "responses": {"200": {"description": "Updated", **_json(_ref("Employee"))},
                               "201": {"description": "Created", **_json(_ref("Employee"))},
                               **_errors(400, 401, 403, 422)}},
    },
    "/openapi.json": {"get": {"summary": "This document", "security": [],
                              "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Polso API", "version": "1.0.0",
                 "description": "Employee engagement: people, pulse surveys, eNPS results, "
                                "one-on-ones and milestone rewards. Errors are "
                                "{\"error\": {\"code\", \"message\", \"fields\"?}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
