"""Polso's statistics: pure functions from counts to results.

No Flask, no database, no I/O, standard library only. Every public function
takes counts (histograms), never rows or people, and raises ``ValueError``
for invalid values (``TypeError`` when handed the wrong kind of container).
See each module for its promise:

- :mod:`scoring.enps`: ``classify``, ``enps``, ``compare``.
- :mod:`scoring.likert`: ``favorability``, ``driver_impact``.
- :mod:`scoring.significance`: ``compare_favorability``, ``compare_proportions``, ``holm``,
  ``benjamini_hochberg``: changes beyond noise, and many comparisons read together.
- :mod:`scoring.participation`: ``participation``, ``trend``.
- :mod:`scoring.disclosure`: ``disclose``, the one guard over everything shown.
- :mod:`scoring.anonymity`: thresholds, ``is_shown``, ``comments_shown``.
- :mod:`scoring.segments`: ``generalise``, what a stored response may say about who gave it.
"""

from scoring.anonymity import (
    COMMENT_THRESHOLD,
    DEFAULT_MIN_GROUP_SIZE,
    MIN_GROUP_SIZE_RANGE,
    Visibility,
    check_min_group_size,
    comments_shown,
    is_shown,
)
from scoring.disclosure import Cell, Verdict, disclose
from scoring.enps import (
    SIGNIFICANCE_LEVEL,
    Comparison,
    ENPSResult,
    classify,
    compare,
    enps,
    z_value,
)
from scoring.likert import (
    MIN_DRIVER_N,
    DriverImpact,
    Favorability,
    driver_impact,
    favorability,
)
from scoring.participation import Participation, TrendPoint, participation, trend
from scoring.significance import benjamini_hochberg, compare_favorability, compare_proportions, holm

__all__ = [
    "COMMENT_THRESHOLD",
    "DEFAULT_MIN_GROUP_SIZE",
    "MIN_DRIVER_N",
    "MIN_GROUP_SIZE_RANGE",
    "SIGNIFICANCE_LEVEL",
    "Cell",
    "Comparison",
    "DriverImpact",
    "ENPSResult",
    "Favorability",
    "Participation",
    "TrendPoint",
    "Verdict",
    "Visibility",
    "benjamini_hochberg",
    "check_min_group_size",
    "classify",
    "comments_shown",
    "compare",
    "compare_favorability",
    "compare_proportions",
    "disclose",
    "driver_impact",
    "enps",
    "favorability",
    "holm",
    "is_shown",
    "participation",
    "trend",
    "z_value",
]
