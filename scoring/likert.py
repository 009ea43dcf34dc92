"""Likert items (1..5): favorability, the mean, and driver impact.

The promise:

- ``favorability`` gives the percentages of favorable (4-5), neutral (3) and
  unfavorable (1-2) answers among non-skipped answers, and the mean on 1..5.
  They sum to 100 up to float rounding. With no answers all are ``None``.
- ``driver_impact`` gives the Pearson correlation between respondents' item
  answers and their eNPS answers. It is a correlation, not a cause: a high r
  says the two move together, not that improving the item would raise eNPS.
  Below ``MIN_DRIVER_N`` paired answers it reports ``"not_enough_data"``
  and no r, because r from a handful of people is mostly noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scoring._validation import check_count, histogram, is_int

LIKERT_SCORES = range(1, 6)
MIN_DRIVER_N = 25

DriverStatus = Literal["ok", "not_enough_data", "no_variance"]


@dataclass(frozen=True, slots=True)
class Favorability:
    """Answers to one Likert item: percentages 0..100 of ``n`` and the mean 1..5."""

    n: int
    favorable: float | None
    neutral: float | None
    unfavorable: float | None
    mean: float | None


def favorability(counts: Sequence[int] | Mapping[int, int]) -> Favorability:
    """Return favorable/neutral/unfavorable percentages and the mean.

    :param counts: 5 counts where index 0 is the number of answers 1, or a
        mapping answer 1..5 -> count (missing answers count 0). Skipped
        answers must not be included.
    :return: a :class:`Favorability`; percentages and mean are ``None`` when
        ``n == 0``.
    :raise ValueError: for a sequence not of length 5, keys outside 1..5, or
        counts that are not non-negative integers (bools included).
    :raise TypeError: if ``counts`` is neither a sequence nor a mapping.
    """
    hist = histogram(counts, LIKERT_SCORES, "Likert counts")
    n = sum(hist)
    if n == 0:
        return Favorability(n=0, favorable=None, neutral=None, unfavorable=None, mean=None)
    total = sum(score * count for score, count in zip(LIKERT_SCORES, hist, strict=True))
    return Favorability(
        n=n,
        favorable=100 * (hist[3] + hist[4]) / n,
        neutral=100 * hist[2] / n,
        unfavorable=100 * (hist[0] + hist[1]) / n,
        mean=total / n,
    )


@dataclass(frozen=True, slots=True)
class DriverImpact:
    """Correlation (not causation) between one item and eNPS.

    ``status`` is ``"ok"`` with ``r`` in [-1, 1]; ``"not_enough_data"`` when
    ``n < min_n``; ``"no_variance"`` when everyone gave the same item answer
    or the same eNPS answer, so r is undefined. ``r`` is None unless ok.
    """

    n: int
    r: float | None
    status: DriverStatus
    min_n: int


def driver_impact(paired_counts: Mapping[tuple[int, int], int], min_n: int = MIN_DRIVER_N) -> DriverImpact:
    """Return the Pearson r between item answers and eNPS answers.

    This measures association, not cause. Only respondents who answered both
    questions belong in ``paired_counts``.

    :param paired_counts: mapping ``(item_score 1..5, enps_score 0..10) ->
        number of respondents`` who gave that pair.
    :param min_n: fewest pairs for which r is reported (default 25).
    :return: a :class:`DriverImpact`; r equals ``statistics.correlation`` on
        the expanded pairs, up to float rounding.
    :raise ValueError: for a key that is not a pair of integers in range, a
        count that is not a non-negative integer, or ``min_n`` < 1.
    :raise TypeError: if ``paired_counts`` is not a mapping.
    """
    if not is_int(min_n) or min_n < 1:
        raise ValueError(f"min_n must be a positive integer, got {min_n!r}")
    if not isinstance(paired_counts, Mapping):
        raise TypeError(
            f"paired_counts must be a mapping (item_score, enps_score) -> count, got {type(paired_counts).__name__}"
        )
    n = sx = sy = sxx = syy = sxy = 0
    for key, count in paired_counts.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 2
            and is_int(key[0])
            and is_int(key[1])
            and 1 <= key[0] <= 5
            and 0 <= key[1] <= 10
        ):
            raise ValueError(f"paired_counts keys must be (item 1..5, eNPS 0..10) integer pairs, got {key!r}")
        c = check_count(count, f"paired_counts: count for {key}")
        x, y = int(key[0]), int(key[1])
        n += c
        sx += c * x
        sy += c * y
        sxx += c * x * x
        syy += c * y * y
        sxy += c * x * y
    if n < min_n:
        return DriverImpact(n=n, r=None, status="not_enough_data", min_n=int(min_n))
    # Integer co-moments are exact, so zero variance is detected exactly
    # rather than as a float that happens to be tiny.
    covariance = n * sxy - sx * sy
    variance_x = n * sxx - sx * sx
    variance_y = n * syy - sy * sy
    if variance_x == 0 or variance_y == 0:
        return DriverImpact(n=n, r=None, status="no_variance", min_n=int(min_n))
    r = covariance / math.sqrt(variance_x * variance_y)
    # A perfectly linear sample can round to 1.0000000000000002.
    r = max(-1.0, min(1.0, r))
    return DriverImpact(n=n, r=r, status="ok", min_n=int(min_n))
