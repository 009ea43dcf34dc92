"""Business rules (placeholder until the feature lands)."""

from __future__ import annotations

from datetime import datetime


def tick(now: datetime) -> dict[str, int]:
    """Periodic work due at ``now``; idempotent. Returns counts of what it did."""
    return {}
