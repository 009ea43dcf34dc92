"""JSON API v1 (``/api/v1``): the same services as the HTML pages, JSON in and out.

``bp`` is defined here, before the endpoint modules are imported: each of them imports it from
this package and registers its endpoints on it. ``api.core`` holds the plumbing (bearer tokens,
bodies, the error format), ``api.docs`` the OpenAPI document and its route.
"""

from flask import Blueprint

from extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Importing each module registers its endpoints on bp.
from api import actions as _actions  # noqa: E402, F401
from api import dashboards as _dashboards  # noqa: E402, F401
from api import docs as _docs  # noqa: E402, F401
from api import oneonones as _oneonones  # noqa: E402, F401
from api import people as _people  # noqa: E402, F401
from api import rewards as _rewards  # noqa: E402, F401
from api import surveys as _surveys  # noqa: E402, F401

__all__ = ["bp"]
