"""Request and response shapes, declared once as pydantic models, through spectree.

Each endpoint says what it takes and answers with :func:`operation`::

    @bp.post("/departments")
    @core.token_required("hr_admin")
    @operation(json=DepartmentInput, responses=responses({201: Department}, 400, 401, 403))
    def departments_create(): ...

``json`` and ``query`` are checked before the handler runs (after the bearer token, so a
stranger gets the 401 and learns nothing about a body's rules): types, lengths, ranges,
required and unknown fields. A request that breaks them is one 422 in the API's error format
naming every bad field, with the messages the services use. Rules no schema can say (a
manager's own report, a date in the future) stay in the services. Formats (dates, e-mail
addresses) are the services' too: their readers say what a good value looks like.

The same models generate the OpenAPI document (``api.docs``). Responses are not checked at
run time; ``tests/test_api_document.py`` checks live answers against the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache, wraps
from typing import Annotated, Any

import pydantic
from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError
from spectree import Response, SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin

from errors import ServiceError, ValidationError

#: Every integer a client sends is at most this unless its model says otherwise: ids and counts
#: are 32-bit columns on PostgreSQL. Larger ones are refused with a 422 (a 404 in a URL path).
MAX_INPUT_INT = 2 ** 31 - 1


class Input(BaseModel):
    """A request body: JSON types as sent (no coercion: ``"1"`` is not a number, ``true`` not 1),
    and a field it does not name is refused, so a misspelt one is named in the 422."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Query parameters: text, except those declared whole numbers; others are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Output(BaseModel):
    """A response body (documentation only: the handlers build the JSON)."""


_QUERY_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


def _query_integer(value: Any) -> Any:
    if isinstance(value, str):
        if not _QUERY_INTEGER.fullmatch(value.strip()):
            raise PydanticCustomError("query_integer", "not a whole number")
        return int(value)
    return value


#: An integer a client sends, at most :data:`MAX_INPUT_INT`.
Int = Annotated[int, Field(le=MAX_INPUT_INT)]


def query_int(minimum: int | None = None, maximum: int = MAX_INPUT_INT) -> Any:
    """A whole number in a query string (digits, an optional sign, at most 12 of them) in a range."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_query_integer)]


QueryInt = query_int()


class ErrorDetail(Output):
    code: str = Field(description="validation_error, unauthorized, forbidden, not_found, conflict, ...")
    message: str = Field(description="What went wrong, for a person to read, in the caller's language.")
    fields: dict[str, str] = Field(default=None, description="Each invalid field with its message "
                                                             "(nested ones as milestones.0.title).")


class Error(Output):
    """Every error: ``{"error": {"code", "message", "fields"?}}``."""

    error: ErrorDetail


ERROR_TEXT = {400: "Malformed request: the body is not a JSON object", 401: "Missing or invalid bearer token",
              403: "Role or person not allowed", 404: "Not found", 409: "Conflict with the current state",
              422: "Invalid fields, each named with its message", 429: "Too many attempts"}


def responses(ok: dict[int, type | None], *errors: int, **texts: str) -> Response:
    """The answers of one operation: ``ok`` maps each success status to its model (None: no body);
    ``errors`` are the error statuses, all in the :class:`Error` format, described by ``ERROR_TEXT``
    or by ``texts`` (``e403="..."``); a 422 is always there."""
    codes: dict[str, Any] = {}
    for status, model in ok.items():
        description = texts.get(f"d{status}")
        codes[f"HTTP_{status}"] = (model, description) if description else model
    for status in (*errors, 422):
        codes[f"HTTP_{status}"] = (Error, texts.get(f"e{status}", ERROR_TEXT[status]))
    bodiless = [code for code, model in codes.items() if model is None]
    return Response(*bodiless, **{code: model for code, model in codes.items() if model is not None})


class _Plugin(FlaskPlugin):
    """Flask plugin that leaves responses as the handlers made them (the document describes them)."""

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        return super().validate_response(resp, None, True, False)


def _refuse(_request, _response, error, _instance, _adapter) -> None:
    if error is not None:
        raise ValidationError(_("Some fields are not valid."), fields_of(error))


spec = SpecTree(
    "flask", backend=_Plugin, mode="strict", annotations=False, before=_refuse,
    validation_error_model=Error, naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    title="Polso API", version="1.0.0",
)

#: Request models by name: a pydantic ValidationError names the model it was raised for.
_MODELS: dict[str, type[BaseModel]] = {}
#: Operations anyone may call, without a token (``security: []``).
PUBLIC: set[str] = set()
#: Operations whose body may be left out (empty is ``{}``).
OPTIONAL_BODY: set[str] = set()


def operation(*, responses: Response, json: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              body_required: bool = True, public: bool = False) -> Callable:
    """Declare an endpoint's request models and responses; check requests against them."""

    def decorate(func: Callable) -> Callable:
        for model in (json, query):
            if model is not None:
                _MODELS[model.__name__] = model
        if public:
            PUBLIC.add(func.__name__)
        if not body_required:
            OPTIONAL_BODY.add(func.__name__)
        validated = spec.validate(json=json, query=query, resp=responses, operation_id=func.__name__)(func)

        @wraps(validated)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if json is not None:
                _require_object(body_required)
            return validated(*args, **kwargs)

        return checked

    return decorate


def _require_object(required: bool) -> None:
    """Not JSON, not parseable, or not an object: malformed (400) rather than invalid (422)."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict) and (required or request.get_data(cache=True).strip()):
        raise ServiceError(_("The body must be a JSON object."))


# --- messages --------------------------------------------------------------------------------


def tidy(node: Any) -> Any:
    """A pydantic JSON schema as the document shows it: ``X | None`` as ``type: [X, "null"]``
    (or an enum holding null), no generated titles, no ``default: null`` on a field never null."""
    if isinstance(node, list):
        return [tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: tidy(schema) for name, schema in value.items()}
        elif key == "title" and isinstance(value, str):
            continue
        else:
            out[key] = tidy(value)
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(o for o in options if o != {"type": "null"})
        if "enum" in other:
            out.pop("anyOf")
            out = {**other, **out, "enum": [*other["enum"], None]}
            out.pop("type", None)
        elif isinstance(other.get("type"), str):
            out.pop("anyOf")
            out = {**other, **out, "type": [other["type"], "null"]}
    if out.get("default", ...) is None and not _nullable(out):
        out.pop("default")
    return out


def _nullable(schema: dict) -> bool:
    types = schema.get("type")
    return (types == "null" or (isinstance(types, list) and "null" in types) or None in schema.get("enum", ())
            or any(o == {"type": "null"} for o in schema.get("anyOf", ())))


@cache
def _schema(name: str) -> dict:
    return tidy(_MODELS[name].model_json_schema())


def _at(schema: dict, defs: dict, loc: Iterable[Any]) -> dict:
    """The part of ``schema`` that validates the value at ``loc`` (``{}`` when it cannot be found)."""
    node = schema
    for part in loc:
        node = _resolve(node, defs)
        if isinstance(part, int) and "items" in node:
            node = node["items"]
        elif isinstance(part, str) and part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            return {}
    return _resolve(node, defs)


def _resolve(node: dict, defs: dict) -> dict:
    while "$ref" in node:
        node = defs.get(node["$ref"].rsplit("/", 1)[1], {})
    return node


_TYPE_ERRORS = {"int_type", "int_parsing", "int_from_float", "query_integer", "string_type", "bool_type",
                "bool_parsing", "list_type", "dict_type", "model_type", "model_attributes_type", "float_type",
                "float_parsing", "none_required", "literal_error", "enum"}


def _message(error: dict, schema: dict) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "missing":
        return _("This field is required.")
    if kind == "query_integer":
        return _("Must be a whole number.")
    if kind in _TYPE_ERRORS:
        options = schema.get("enum", [schema["const"]] if "const" in schema else None)
        if options is not None:
            return _("Must be one of: %(choices)s.",
                     choices=", ".join("null" if o is None else str(o) for o in options))
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        words = {"integer": _("a whole number"), "number": _("a number"), "string": _("text"),
                 "boolean": _("true or false"), "array": _("a list"), "object": _("an object"), "null": _("null")}
        return _("Must be %(types)s.", types=_(" or ").join(words.get(t, t) for t in types))
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx["max_length"])
    if kind == "string_too_short":
        return (_("This field is required.") if ctx["min_length"] <= 1
                else _("At least %(n)s characters.", n=ctx["min_length"]))
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt")))
    if kind == "too_long":
        return _("At most %(n)s items.", n=ctx["max_length"])
    if kind == "too_short":
        return _("At least %(n)s items.", n=ctx["min_length"])
    if kind == "extra_forbidden":
        return _("Unknown field.")
    return _("Is not valid.")


def fields_of(error: pydantic.ValidationError) -> dict[str, str]:
    """Each bad field of a request, as the services name them (``milestones.0.title``), with its message."""
    schema = _schema(error.title) if error.title in _MODELS else {}
    defs = schema.get("$defs", {})
    fields: dict[str, str] = {}
    for item in error.errors():
        loc = item["loc"]
        fields.setdefault(".".join(str(part) for part in loc) or "body", _message(item, _at(schema, defs, loc)))
    return fields
