"""The OpenAPI 3.1 document for API v1, served at ``/api/v1/openapi.json``.

Kept beside the endpoints as plain data; a test checks every API route is described.
"""

from __future__ import annotations


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


ERROR_TEXT = {400: "Malformed request", 401: "Missing or invalid bearer token", 403: "Role not allowed",
              404: "Not found", 409: "Conflict with the current state", 422: "Invalid fields",
              429: "Too many attempts"}


def error_responses(*codes: int, **texts: str) -> dict:
    """Error responses in the shared format; ``texts`` overrides descriptions, e.g. ``e403="..."``."""
    return {str(c): {"description": texts.get(f"e{c}", ERROR_TEXT[c]), **json_content(ref("Error"))}
            for c in codes}



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

SCHEMAS.update({
    "QuestionInput": {
        "type": "object",
        "description": "A question written here (kind and text) or taken from the library (library_key).",
        "properties": {
            "kind": {"enum": ["enps", "likert", "choice", "text"]}, "text": {"type": "string", "maxLength": 300},
            "text_it": {"type": ["string", "null"], "maxLength": 300},
            "options": {"type": ["array", "null"], "items": {"type": "string"}, "minItems": 2, "maxItems": 10},
            "required": {"type": "boolean"}, "library_key": {"type": "string"},
        },
    },
    "Question": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "position": {"type": "integer"},
                       "kind": {"enum": ["enps", "likert", "choice", "text"]}, "text": {"type": "string"},
                       "text_it": {"type": ["string", "null"]},
                       "options": {"type": ["array", "null"], "items": {"type": "string"}},
                       "required": {"type": "boolean"}, "library_key": {"type": ["string", "null"]}},
    },
    "SurveyInput": {
        "type": "object", "required": ["title", "cadence", "questions"],
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "cadence": {"enum": ["weekly", "biweekly", "monthly", "quarterly", "once"]},
            "starts_on": {"type": "string", "format": "date"},
            "open_days": {"type": "integer", "minimum": 1, "maximum": 28},
            "remind_days_before_close": {"type": "integer", "minimum": 0},
            "audience_department_id": {"type": ["integer", "null"]},
            "min_group_size": {"type": "integer", "minimum": 3, "maximum": 10},
            "timezone": {"type": "string"},
            "questions": {"type": "array", "items": ref("QuestionInput"), "minItems": 1, "maxItems": 10,
                          "description": "At most 10, at most one of kind enps."},
        },
    },
    "Survey": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "cadence": {"type": "string"},
            "starts_on": {"type": "string", "format": "date"}, "open_days": {"type": "integer"},
            "remind_days_before_close": {"type": "integer"}, "timezone": {"type": "string"},
            "audience_department_id": {"type": ["integer", "null"]}, "min_group_size": {"type": "integer"},
            "status": {"enum": ["active", "archived"]},
            "questions": {"type": "array", "items": ref("Question")},
        },
    },
    "Round": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "survey_id": {"type": "integer"},
                       "opens_at": {"type": "string", "format": "date-time"},
                       "closes_at": {"type": "string", "format": "date-time"},
                       "status": {"enum": ["open", "closed"]}, "invited": {"type": "integer"}},
    },
    "Invitation": {
        "type": "object",
        "properties": {"round_id": {"type": "integer"}, "survey_id": {"type": "integer"},
                       "title": {"type": "string"}, "closes_at": {"type": "string", "format": "date-time"},
                       "questions": {"type": "array", "items": ref("Question")}},
    },
    "ResponseInput": {
        "type": "object", "required": ["answers"],
        "properties": {"answers": {"type": "array", "items": {
            "type": "object", "required": ["question_id", "value"],
            "properties": {"question_id": {"type": "integer"},
                           "value": {"description": "eNPS: integer 0..10; likert: integer 1..5; choice: one of "
                                                    "the options (string); text: string of at most 2000 "
                                                    "characters. Omit a question to skip it."}}}}},
    },
})


def _id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


PATHS: dict = {
    "/auth/token": {"post": {
        "summary": "Exchange e-mail and password for a bearer token", "security": [],
        "requestBody": {"required": True, **json_content({
            "type": "object", "required": ["email", "password"],
            "properties": {"email": {"type": "string"}, "password": {"type": "string"}}})},
        "responses": {"201": {"description": "Token", **json_content({
            "type": "object", "properties": {"token": {"type": "string"}, "token_type": {"const": "Bearer"}}})},
            **error_responses(400, 401, 422, 429)},
    }},
    "/departments": {
        "get": {"summary": "List departments (hr_admin)", "responses": {
            "200": {"description": "Departments", **json_content({"type": "object", "properties": {
                "items": {"type": "array", "items": ref("Department")}}})}, **error_responses(401, 403)}},
        "post": {"summary": "Create a department (hr_admin)",
                 "requestBody": {"required": True, **json_content(ref("DepartmentInput"))},
                 "responses": {"201": {"description": "Created", **json_content(ref("Department"))},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/employees": {
        "get": {"summary": "List people, paginated (hr_admin)",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                    "maximum": 200}}],
                "responses": {"200": {"description": "A page of people", **json_content({
                    "type": "object", "properties": {
                        "items": {"type": "array", "items": ref("Employee")},
                        "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "total": {"type": "integer"}, "pages": {"type": "integer"}}})},
                    **error_responses(401, 403, 422)}},
        "post": {"summary": "Create or update a person by e-mail (hr_admin)",
                 "requestBody": {"required": True, **json_content(ref("EmployeeInput"))},
                 "responses": {"200": {"description": "Updated", **json_content(ref("Employee"))},
                               "201": {"description": "Created", **json_content(ref("Employee"))},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/surveys": {
        "get": {"summary": "Surveys: all for hr_admin, those one was invited to for others",
                "responses": {"200": {"description": "Surveys", **json_content({"type": "object", "properties": {
                    "items": {"type": "array", "items": ref("Survey")}}})}, **error_responses(401)}},
        "post": {"summary": "Create a pulse survey (hr_admin)",
                 "requestBody": {"required": True, **json_content(ref("SurveyInput"))},
                 "responses": {"201": {"description": "Created", **json_content(ref("Survey"))},
                               **error_responses(400, 401, 403, 422)}},
    },
    "/surveys/{survey_id}": {"get": {
        "summary": "One survey (hr_admin)", "parameters": [_id("survey_id")],
        "responses": {"200": {"description": "The survey", **json_content(ref("Survey"))},
                      **error_responses(401, 403, 404)}}},
    "/surveys/{survey_id}/rounds": {"post": {
        "summary": "Open a round now and invite the audience (hr_admin)", "parameters": [_id("survey_id")],
        "responses": {"201": {"description": "The open round", **json_content(ref("Round"))},
                      **error_responses(401, 403, 404, 409)}}},
    "/me/invitations": {"get": {
        "summary": "Open rounds the caller is invited to and has not answered, with their questions",
        "responses": {"200": {"description": "Invitations", **json_content({"type": "object", "properties": {
            "items": {"type": "array", "items": ref("Invitation")}}})}, **error_responses(401)}}},
    "/rounds/{round_id}/responses": {"post": {
        "summary": "Answer a round as the invited employee; stored anonymously",
        "parameters": [_id("round_id")],
        "requestBody": {"required": True, **json_content(ref("ResponseInput"))},
        "responses": {"201": {"description": "Recorded", **json_content({"type": "object", "properties": {
            "status": {"const": "recorded"}}})},
            **error_responses(400, 401, 403, 404, 409, 422)}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [],
                              "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
}


#: Every integer a client sends is at most this unless its schema says otherwise: ids and counts
#: are 32-bit columns on PostgreSQL. Larger ones are refused with a 422 (a 404 in a URL path).
MAX_INPUT_INT = 2 ** 31 - 1


def tighten_request_schema(schema: object) -> None:
    """The two rules every request schema shares, applied in place.

    An integer without a ``maximum`` gets the database's; an object that lists its properties
    takes no others, so a misspelt field is named in a 422 instead of being silently ignored.
    """
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            types = node.get("type")
            if (types == "integer" or (isinstance(types, list) and "integer" in types)) and "maximum" not in node:
                node["maximum"] = MAX_INPUT_INT
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def document() -> dict:
    import copy

    from api import dashboards, oneonones, rewards

    modules = (dashboards, oneonones, rewards)
    paths = copy.deepcopy({**PATHS, **{p: v for m in modules for p, v in m.OPENAPI_PATHS.items()}})
    schemas = copy.deepcopy({**SCHEMAS, **{n: v for m in modules for n, v in m.OPENAPI_SCHEMAS.items()}})
    for name, schema in schemas.items():
        if name.endswith("Input"):
            tighten_request_schema(schema)
    for item in paths.values():
        for operation in item.values():
            tighten_request_schema(operation.get("parameters", []))
            tighten_request_schema(operation.get("requestBody", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Polso API", "version": "1.0.0",
                 "description": "Employee engagement: people, pulse surveys, eNPS results, "
                                "one-on-ones and milestone rewards. Errors are "
                                "{\"error\": {\"code\", \"message\", \"fields\"?}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
