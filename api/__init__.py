"""JSON API v1: the same services as the HTML pages, JSON in and out."""

from api.views import bp

__all__ = ["bp"]
