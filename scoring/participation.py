"""Participation rates and eNPS trends.

The promise:

- ``participation`` gives the share of invited people who answered, 0..100,
  or ``None`` when nobody was invited.
- ``trend`` turns an ordered series of eNPS results into chart points, each
  compared with the previous point that has a score, so a chart can say
  whether a change is real or within noise. Suppressed points (groups under
  the anonymity threshold, given as ``None``) carry no numbers and are
  skipped as comparison baselines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scoring._validation import check_count
from scoring.enps import Comparison, ENPSResult, compare


@dataclass(frozen=True, slots=True)
class Participation:
    """How many invited people answered; ``rate`` is 0..100 or None."""

    responses: int
    invited: int
    rate: float | None


def participation(responses: int, invited: int) -> Participation:
    """Return the participation rate ``100 * responses / invited``.

    :return: a :class:`Participation` whose ``rate`` is None when
        ``invited == 0``.
    :raise ValueError: for negative or non-integer counts (bools included)
        or more responses than invitations.
    """
    responses = check_count(responses, "responses")
    invited = check_count(invited, "invited")
    if responses > invited:
        raise ValueError(f"responses ({responses}) cannot exceed invited ({invited})")
    rate = None if invited == 0 else 100 * responses / invited
    return Participation(responses=responses, invited=invited, rate=rate)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One point of an eNPS trend.

    A suppressed point has ``suppressed=True`` and no numbers at all. For
    the others, ``change`` compares with the previous point that has a
    score (None for the first such point, for a point with ``n == 0``, or
    when there is no earlier scored point); ``significant_change`` is
    ``change.significant`` or False.
    """

    label: str
    suppressed: bool
    n: int | None
    score: float | None
    ci_low: float | None
    ci_high: float | None
    change: Comparison | None
    significant_change: bool


def trend(points: Iterable[tuple[str, ENPSResult | None]]) -> list[TrendPoint]:
    """Return trend points for an ordered series ``(label, result)``.

    :param points: in chart order (oldest first); ``result`` is None for a
        point the anonymity guard suppressed.
    :return: one :class:`TrendPoint` per input, same order.
    :raise TypeError: if a result is neither an :class:`ENPSResult` nor None.
    """
    out: list[TrendPoint] = []
    baseline: ENPSResult | None = None
    for label, result in points:
        if result is None:
            out.append(TrendPoint(label, True, None, None, None, None, None, False))
            continue
        if not isinstance(result, ENPSResult):
            raise TypeError(f"trend point {label!r}: expected ENPSResult or None, got {result!r}")
        change = None
        if result.n > 0:
            change = None if baseline is None else compare(baseline, result)
            baseline = result
        out.append(
            TrendPoint(
                label=label,
                suppressed=False,
                n=result.n,
                score=result.score,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                change=change,
                significant_change=change is not None and change.significant,
            )
        )
    return out
