"""Every API request is checked against the OpenAPI document before its handler runs.

The document (``api/openapi.py`` and each endpoint module's ``OPENAPI_PATHS``) is where a
request's shape is declared, once: which fields an operation takes, their types, lengths and
ranges, which are required, which query parameters exist. This module enforces exactly that,
so a client that breaks the document gets a 422 naming every bad field, and a handler only
ever sees the types it was promised. Rules no schema can say (a manager's own report, a date
in the future) stay in the services.

Formats (``date``, ``email``) are not checked here: the services read those with
``inputs.read_date`` and friends, whose messages say what a good value looks like.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema_rs
from flask import request
from flask_babel import gettext as _

from errors import ServiceError, ValidationError

_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


def openapi_path(rule: str) -> str:
    """``/api/v1/one-on-ones/<int:series_id>`` as the document names it: ``/one-on-ones/{series_id}``."""
    return _RULE_ARG.sub(r"{\1}", rule.removeprefix("/api/v1"))


@cache
def _document() -> dict:
    from api.openapi import document

    return document()


@cache
def _operations() -> dict[tuple[str, str], dict]:
    return {(path, method.upper()): operation
            for path, item in _document()["paths"].items() for method, operation in item.items()}


@cache
def _validator(schema_key: tuple[str, str, str]) -> Any:
    """A compiled validator for one operation's body (``"body"``) or query parameter ``name``."""
    path, method, part = schema_key
    operation = _operations()[(path, method)]
    if part == "body":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        schema = next(p["schema"] for p in operation.get("parameters", ()) if p["name"] == part and p["in"] == "query")
    # $refs point into the whole document's components; hand them to the validator with the schema.
    return jsonschema_rs.Draft202012Validator({**schema, "components": _document()["components"]},
                                              validate_formats=False)


def _field(path: list) -> str:
    """``["milestones", 0, "id"]`` as the services name fields: ``milestones.0.id``."""
    return ".".join(str(part) for part in path)


def _message(kind: Any) -> str:
    name = type(kind).__name__
    details = kind.as_dict()
    if name == "Type":
        words = {"integer": _("a whole number"), "number": _("a number"), "string": _("text"),
                 "boolean": _("true or false"), "array": _("a list"), "object": _("an object"), "null": _("null")}
        return _("Must be %(types)s.", types=_(" or ").join(words.get(t, t) for t in details.get("types", [])))
    if name == "Required":
        return _("This field is required.")
    if name in ("Enum", "Constant"):
        options = details.get("options", [details.get("expected_value")])
        return _("Must be one of: %(choices)s.", choices=", ".join("null" if o is None else str(o) for o in options))
    if name == "MaxLength":
        return _("At most %(n)s characters.", n=details["limit"])
    if name == "MinLength":
        return _("This field is required.") if details["limit"] <= 1 else _("At least %(n)s characters.",
                                                                             n=details["limit"])
    if name in ("Maximum", "ExclusiveMaximum"):
        return _("Must be at most %(n)s.", n=details["limit"])
    if name in ("Minimum", "ExclusiveMinimum"):
        return _("Must be at least %(n)s.", n=details["limit"])
    if name == "MaxItems":
        return _("At most %(n)s items.", n=details["limit"])
    if name == "MinItems":
        return _("At least %(n)s items.", n=details["limit"])
    return _("Is not valid.")


def _errors(validator: Any, instance: Any, prefix: list, errors: dict[str, str]) -> None:
    for error in validator.iter_errors(instance):
        kind = error.kind
        path = [*prefix, *error.instance_path]
        name = type(kind).__name__
        if name == "AdditionalProperties":
            for key in kind.as_dict().get("unexpected", []):
                errors.setdefault(_field([*path, key]), _("Unknown field."))
        elif name == "Required":
            errors.setdefault(_field([*path, kind.as_dict()["property"]]), _message(kind))
        else:
            errors.setdefault(_field(path) or "body", _message(kind))


def validate_public_request() -> None:
    """Check the operations anyone may call (``security: []``) before their handler.

    The others are checked by :func:`api.core.token_required` once the caller is known, so that
    a stranger learns nothing about a body's rules and gets the 401 first.
    """
    if request.url_rule is None:
        return
    operation = _operations().get((openapi_path(request.url_rule.rule), request.method))
    if operation is not None and operation.get("security") == []:
        validate_request()


def validate_request() -> None:
    """Refuse, with one 422 naming every bad field, an API request the document does not allow."""
    if request.url_rule is None:
        return
    key = (openapi_path(request.url_rule.rule), request.method)
    operation = _operations().get(key)
    if operation is None:
        return
    errors: dict[str, str] = {}
    for parameter in operation.get("parameters", ()):
        if parameter["in"] != "query" or parameter["name"] not in request.args:
            continue
        name = parameter["name"]
        raw = request.args[name]
        value: Any = raw
        if parameter["schema"].get("type") == "integer":
            if not _INTEGER.fullmatch(raw.strip()):
                errors[name] = _("Must be a whole number.")
                continue
            value = int(raw)
        _errors(_validator((*key, name)), value, [name], errors)
    body = operation.get("requestBody")
    if body is not None:
        data = request.get_json(silent=True) if request.is_json else None
        if isinstance(data, dict):
            _errors(_validator((*key, "body")), data, [], errors)
        elif body.get("required") or request.get_data(cache=True).strip():
            # Not JSON, not parseable, or not an object: malformed rather than invalid, as before.
            raise ServiceError(_("The body must be a JSON object."))
    if errors:
        raise ValidationError(_("Some fields are not valid."), errors)
