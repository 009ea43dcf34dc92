"""What ``/scim/v2`` says about itself (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.

Only what Polso keeps is published: the User schema lists userName, name (required: a person has
a name), emails (read-only: it reports userName), active, locale and timezone; the enterprise
extension lists department and manager. PATCH and filtering (``eq`` on userName, externalId, id)
are supported; bulk, sorting, ETags, password changes and Groups are not.
"""

from __future__ import annotations

from collections.abc import Callable

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Meta,
    Mutability,
    Patch,
    Required,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

from scim.mapping import USER

MAX_RESULTS = 200

#: Published attribute → the sub-attributes published (None: all of them, or it has none).
USER_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "userName": None, "name": ("formatted", "familyName", "givenName"), "emails": ("value", "type", "primary"),
    "active": None, "locale": None, "timezone": None,
}
ENTERPRISE_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {"department": None, "manager": ("value", "$ref")}


def service_provider_config(location: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="Bearer token", primary=True,
            description="A token made with `flask --app app scim token create`, sent as Authorization: Bearer.",
        )],
        meta=Meta(resource_type="ServiceProviderConfig", location=location),
    )


def resource_types(locate: Callable[[str], str]) -> list[ResourceType]:
    """The one resource type, User with the enterprise extension; ``locate`` gives its URL from its id."""
    resource_type = ResourceType.from_resource(USER)
    resource_type.description = "A person in Polso"
    resource_type.meta = Meta(resource_type="ResourceType", location=locate(resource_type.id))
    return [resource_type]


def _narrowed(schema: Schema, published: dict[str, tuple[str, ...] | None]) -> Schema:
    attributes = []
    for attribute in schema.attributes or []:
        if attribute.name not in published:
            continue
        keep = published[attribute.name]
        update: dict = {}
        if keep is not None and attribute.sub_attributes:
            update["sub_attributes"] = [sub.model_copy(update={"required": Required.false} if sub.name == "$ref"
                                                       else {}) for sub in attribute.sub_attributes
                                        if sub.name in keep]
        if attribute.name == "name":
            update["required"] = Required.true
        if attribute.name == "emails":
            update["mutability"] = Mutability.read_only
            update["sub_attributes"] = [sub.model_copy(update={"mutability": Mutability.read_only})
                                        for sub in update["sub_attributes"]]
        attributes.append(attribute.model_copy(update=update))
    return schema.model_copy(update={"attributes": attributes})


def schemas(locate: Callable[[str], str]) -> list[Schema]:
    """The User schema and the enterprise extension's, as far as Polso keeps them."""
    result = []
    for model, published in ((User, USER_ATTRIBUTES), (EnterpriseUser, ENTERPRISE_ATTRIBUTES)):
        schema = _narrowed(model.to_schema(), published)
        schema.meta = Meta(resource_type="Schema", location=locate(schema.id))
        result.append(schema)
    return result

