"""``/scim/v2``: SCIM 2.0 (RFC 7644) for identity providers (Microsoft Entra ID, Okta, ...).

Every request needs a SCIM bearer token (``flask --app app scim token create``); every answer,
refusals included, is ``application/scim+json``, and nothing here answers 500 for a client's
mistake. Handlers parse with scim2-models, call ``scim.users`` and dump the result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request, url_for
from pydantic import ValidationError as PydanticValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    InvalidValueException,
    ListResponse,
    Manager,
    MutabilityException,
    NotFoundException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimPolicy,
    SearchRequest,
)
from werkzeug.exceptions import HTTPException

from errors import ServiceError, Unavailable
from extensions import csrf
from scim import discovery, mapping, protocol, users
from scim.mapping import ENTERPRISE, USER

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)

# What Entra ID and Okta send beyond the letter of the RFC: attributes outside the schemas (dropped),
# a "remove" whose value picks the entry, a path filter on an entry not there yet (it is added).
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore, remove_value_as_filter=ScimPolicy.RemoveValue.apply,
                    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)
_ABSENT = object()

bp.register_error_handler(SCIMException, protocol.from_scim_exception)
bp.register_error_handler(PydanticValidationError, protocol.from_pydantic)
bp.register_error_handler(ServiceError, protocol.from_service_error)
bp.register_error_handler(Unavailable, protocol.from_unavailable)
bp.register_error_handler(HTTPException, protocol.from_http)
bp.register_error_handler(Exception, protocol.unexpected)


@bp.before_request
def authenticate():
    protocol.require_token()


def _locate(person_id: int) -> str:
    return url_for("scim.user", user_id=str(person_id), _external=True)


def _parameters() -> ResponseParameters:
    """The query's ``attributes`` and ``excludedAttributes`` (RFC 7644 §3.9)."""
    return ResponseParameters[USER].model_validate(
        {"attributes": request.args.get("attributes"), "excludedAttributes": request.args.get("excludedAttributes")})


def _dump(user, context: Context = Context.RESOURCE_QUERY_RESPONSE) -> dict[str, Any]:
    return user.model_dump(scim_ctx=context, response_parameters=_parameters())


def _resource(person) -> Any:
    return mapping.to_resource(person, users.link_of(person), _locate)


def _read_user(context: Context):
    """The body as a User. An enterprise ``manager`` may lack ``$ref`` (clients send only ``value``, or a
    bare id): it is read apart, as its value."""
    body = protocol.json_body()
    extension = body.get(ENTERPRISE)
    manager = extension.pop("manager", _ABSENT) if isinstance(extension, dict) else _ABSENT
    user = USER.model_validate(body, scim_ctx=context, scim_policy=POLICY)
    if manager is not _ABSENT:
        value = manager.get("value") if isinstance(manager, dict) else manager
        if value is not None and not isinstance(value, str | int):
            raise InvalidValueException(detail="manager.value must be a string")
        extension_model = user[EnterpriseUser] or EnterpriseUser()
        extension_model.manager = None if value is None else Manager(value=str(value))
        user[EnterpriseUser] = extension_model
    return user


def _read_patch() -> PatchOp:
    """The body as a PatchOp; a manager given as a bare id (as Entra ID sends it) reads as ``{"value": id}``."""
    body = protocol.json_body()
    for operation in body.get("Operations") or body.get("operations") or []:
        if not isinstance(operation, dict):
            continue
        path, value = str(operation.get("path") or ""), operation.get("value")
        if path.lower() == f"{ENTERPRISE}:manager".lower() and str(operation.get("op")).lower() == "remove":
            operation.pop("value", None)  # the one manager goes, whichever the value names
        elif path.lower() == f"{ENTERPRISE}:manager".lower() and isinstance(value, str | int):
            operation["value"] = {"value": str(value)}
        elif isinstance(value, dict):
            key = next((k for k in value if k.lower() == f"{ENTERPRISE}:manager".lower()), None)
            if key and isinstance(value[key], str | int):
                value[key] = {"value": str(value[key])}
    return PatchOp[USER].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)


def _search(search: SearchRequest, parameters: ResponseParameters):
    count = min(discovery.MAX_RESULTS if search.count is None else search.count, discovery.MAX_RESULTS)
    start = search.start_index or 1
    total, people = users.find(search.filter.ast if search.filter else None, start, count)
    page = ListResponse[USER](total_results=total, start_index=start, items_per_page=len(people),
                              resources=[_resource(person) for person in people])
    return protocol.respond(page.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters))


@bp.get("/Users")
def user_list():
    """A page of Users, filtered by ``userName eq "…"`` (or externalId, id); ``startIndex`` is 1-based."""
    search = SearchRequest.model_validate({key: request.args[key] for key in ("filter", "startIndex", "count")
                                           if key in request.args}, scim_policy=POLICY)
    return _search(search, _parameters())


@bp.post("/Users/.search")
@bp.post("/.search")
def user_search():
    """The same search with its parameters in a SearchRequest body (RFC 7644 §3.4.3); Users are all there is."""
    body = protocol.json_body()
    search = SearchRequest.model_validate(body, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY)
    return _search(search, ResponseParameters[USER].model_validate(
        {"attributes": body.get("attributes"), "excludedAttributes": body.get("excludedAttributes")}))


@bp.post("/Users")
def user_create():
    user = _read_user(Context.RESOURCE_CREATION_REQUEST)
    person = users.create(user, datetime.now(UTC))
    return protocol.respond(_dump(_resource(person), Context.RESOURCE_CREATION_RESPONSE), 201,
                            {"Location": _locate(person.id)})


@bp.get("/Users/<user_id>")
def user(user_id: str):
    return protocol.respond(_dump(_resource(users.get(user_id))))


@bp.put("/Users/<user_id>")
def user_replace(user_id: str):
    person = users.get(user_id)
    user = _read_user(Context.RESOURCE_REPLACEMENT_REQUEST)
    if user.id is not None and user.id != user_id:
        raise MutabilityException(detail="id cannot be changed")
    users.replace(person, user, datetime.now(UTC))
    return protocol.respond(_dump(_resource(person), Context.RESOURCE_REPLACEMENT_RESPONSE))


@bp.patch("/Users/<user_id>")
def user_patch(user_id: str):
    person = users.get(user_id)
    users.patch(person, _read_patch(), datetime.now(UTC), _locate)
    return protocol.respond(_dump(_resource(person), Context.RESOURCE_PATCH_RESPONSE))


@bp.delete("/Users/<user_id>")
def user_delete(user_id: str):
    """Deactivates the person (their data stays) and answers 204; SCIM then answers 404 for them."""
    users.delete(users.get(user_id), datetime.now(UTC))
    return protocol.respond(None, 204)


@bp.get("/ServiceProviderConfig")
def service_provider_config():
    config = discovery.service_provider_config(url_for("scim.service_provider_config", _external=True))
    return protocol.respond(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _listed(items: list, kind) -> dict[str, Any]:
    page = ListResponse[kind](total_results=len(items), start_index=1, items_per_page=len(items), resources=items)
    return page.model_dump(scim_ctx=Context.SEARCH_RESPONSE)


def _resource_types() -> list[ResourceType]:
    return discovery.resource_types(lambda name: url_for("scim.resource_type", name=name, _external=True))


def _schemas() -> list[Schema]:
    return discovery.schemas(lambda urn: url_for("scim.schema", urn=urn, _external=True))


@bp.get("/ResourceTypes")
def resource_types():
    return protocol.respond(_listed(_resource_types(), ResourceType))


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str):
    found = next((item for item in _resource_types() if item.id == name), None)
    if found is None:
        raise NotFoundException(detail=f"No resource type {name}.")
    return protocol.respond(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@bp.get("/Schemas")
def schemas():
    return protocol.respond(_listed(_schemas(), Schema))


@bp.get("/Schemas/<urn>")
def schema(urn: str):
    found = next((item for item in _schemas() if item.id == urn), None)
    if found is None:
        raise NotFoundException(detail=f"No schema {urn}.")
    return protocol.respond(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def elsewhere(anything: str):
    """Anything else under /scim/v2 (Groups, Bulk, /Me, a method an endpoint lacks): a SCIM 404 or 405."""
    if anything.split("/")[0] in {"Users", "ServiceProviderConfig", "ResourceTypes", "Schemas"}:
        return protocol.error_response(405, f"{request.method} is not allowed on /{anything}.")
    raise NotFoundException(detail=f"No endpoint /scim/v2/{anything}.")
