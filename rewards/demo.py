"""Demo data for this feature (placeholder until the feature lands)."""

from __future__ import annotations

import random
from datetime import date


def seed(rng: random.Random, today: date) -> dict[str, int]:
    """Write demo rows in bulk (the people and the pulse exist already); return counts for the summary line."""
    return {}
