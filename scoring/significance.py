"""Whether a Likert item's favorability moved beyond noise, and corrections for many comparisons.

The promise:

- ``compare_favorability`` tests the change in the share of favorable answers (4-5) between two
  independent groups (two rounds of one team, or a team and the rest of the company). The
  delta is the raw change in percentage points, the one to show. The test is the adjusted
  two-proportion z-test of Agresti and Caffo (2000): one favorable and one other answer are
  added to each side before the usual unpooled z, which keeps the false-alarm rate near the
  nominal 5 % for the small groups Polso shows (see the tests for the exact rates). A side with
  no answers gives an undefined comparison: no delta, no z, no p, not significant.
- ``holm`` and ``benjamini_hochberg`` say which of many p-values stay significant when they are
  read together (a heatmap compares every cell with the company). Holm controls the chance of
  any false alarm among them (the family-wise error rate); Benjamini–Hochberg controls the
  expected share of false alarms among the cells marked (the false discovery rate), and so
  marks more. ``None`` stands for a comparison that could not be made: it is never significant
  and does not count towards the number of comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from scoring.enps import SIGNIFICANCE_LEVEL, Comparison
from scoring.likert import favorability


def _favorable(counts: Sequence[int] | Mapping[int, int]) -> tuple[int, int]:
    n = favorability(counts).n  # validates the counts
    favourable = counts.get(4, 0) + counts.get(5, 0) if isinstance(counts, Mapping) else counts[3] + counts[4]
    return favourable, n


def _two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def compare_proportions(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Comparison:
    """The adjusted (Agresti–Caffo) two-proportion z-test from ``a`` (earlier) to ``b`` (later).

    ``delta`` is ``100 * (x_b / n_b - x_a / n_a)`` in percentage points; ``z`` is computed on
    ``p~ = (x + 1) / (n + 2)`` with the unpooled standard error
    ``sqrt(p~a (1 - p~a) / (n_a + 2) + p~b (1 - p~b) / (n_b + 2))``; ``p_value`` is two-sided and
    ``significant`` iff it is below 0.05.
    :raise ValueError: counts that are not whole numbers with ``0 <= x <= n``.
    """
    for x, n in ((successes_a, n_a), (successes_b, n_b)):
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (x, n)) or not 0 <= x <= n:
            raise ValueError(f"not a count of successes out of n: {x!r} of {n!r}")
    if n_a == 0 or n_b == 0:
        return Comparison(delta=None, z=None, p_value=None, significant=False)
    delta = 100 * (successes_b / n_b - successes_a / n_a)
    pa, pb = (successes_a + 1) / (n_a + 2), (successes_b + 1) / (n_b + 2)
    se = math.sqrt(pa * (1 - pa) / (n_a + 2) + pb * (1 - pb) / (n_b + 2))
    z = (pb - pa) / se
    p = _two_sided_p(z)
    return Comparison(delta=delta, z=z, p_value=p, significant=p < SIGNIFICANCE_LEVEL)


def compare_favorability(a: Sequence[int] | Mapping[int, int], b: Sequence[int] | Mapping[int, int]) -> Comparison:
    """Whether the favorable share moved from ``a`` to ``b`` (each 5 counts of answers 1..5, or a
    mapping answer -> count, as :func:`scoring.likert.favorability` takes); see
    :func:`compare_proportions`."""
    return compare_proportions(*_favorable(a), *_favorable(b))


def _check(p_values: Sequence[float | None], alpha: float) -> list[tuple[int, float]]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    known = []
    for i, p in enumerate(p_values):
        if p is None:
            continue
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"not a p-value: {p!r}")
        known.append((i, float(p)))
    return sorted(known, key=lambda item: item[1])


def holm(p_values: Sequence[float | None], alpha: float = SIGNIFICANCE_LEVEL) -> list[bool]:
    """Holm's step-down correction: which p-values stay significant at family-wise level ``alpha``.

    With the m known p-values sorted, the i-th smallest (from 0) is significant while every one
    up to it is at most ``alpha / (m - i)``; the first that is not stops the procedure.
    """
    ordered = _check(p_values, alpha)
    significant = [False] * len(p_values)
    m = len(ordered)
    for rank, (index, p) in enumerate(ordered):
        if p > alpha / (m - rank):
            break
        significant[index] = True
    return significant


def benjamini_hochberg(p_values: Sequence[float | None], alpha: float = SIGNIFICANCE_LEVEL) -> list[bool]:
    """The Benjamini–Hochberg step-up procedure at false discovery rate ``alpha``.

    With the m known p-values sorted, find the largest rank r (from 1) whose p-value is at most
    ``r * alpha / m``; that one and every smaller p-value are significant.
    """
    ordered = _check(p_values, alpha)
    significant = [False] * len(p_values)
    m = len(ordered)
    cut = 0
    for rank, (_index, p) in enumerate(ordered, start=1):
        if p <= rank * alpha / m:
            cut = rank
    for index, _p in ordered[:cut]:
        significant[index] = True
    return significant
