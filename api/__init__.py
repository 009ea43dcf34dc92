"""JSON API v1: the same services as the HTML pages, JSON in and out."""

from api import surveys as _surveys  # noqa: F401  (registers its endpoints on bp)
from api.views import bp

__all__ = ["bp"]
