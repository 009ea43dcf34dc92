"""JSON API v1: the same services as the HTML pages, JSON in and out."""

# Importing each module registers its endpoints on bp.
from api import dashboards as _dashboards  # noqa: F401
from api import oneonones as _oneonones  # noqa: F401
from api import rewards as _rewards  # noqa: F401
from api import surveys as _surveys  # noqa: F401
from api.views import bp

__all__ = ["bp"]
