"""API v1 endpoints of this feature (placeholder until the feature lands)."""

OPENAPI_PATHS: dict = {}
OPENAPI_SCHEMAS: dict = {}
