"""Anonymity thresholds and the stored verdict as pages read it.

The decision itself, which groups of a round may be shown, is
:func:`scoring.disclosure.disclose`, made once when the round closes and
stored with its results. This module holds the thresholds (the minimum group
size ``k`` and the comment threshold), the :class:`Visibility` every page reads
back, and the rule for comments: they are released only for the company (never
broken down) and only with at least ``COMMENT_THRESHOLD`` respondents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scoring._validation import is_int

DEFAULT_MIN_GROUP_SIZE = 5
MIN_GROUP_SIZE_RANGE = range(3, 11)
COMMENT_THRESHOLD = 10

# "too_few_invited", "below_k" and "overlap" come from scoring.disclosure; "parent_difference",
# "complementary" and "cross_cut" only from results stored by earlier versions, until recounted.
Reason = Literal["too_few_invited", "below_k", "overlap", "parent_difference", "complementary", "cross_cut"]


@dataclass(frozen=True, slots=True)
class Visibility:
    """What may be shown for one group.

    ``reason`` is None when shown, else why it is hidden (see
    :class:`scoring.disclosure.Verdict`).
    """

    shown: bool
    comments_shown: bool
    reason: Reason | None


def check_min_group_size(k: object) -> int:
    """Return ``k`` if it is an allowed minimum group size (an int 3..10).

    :raise ValueError: otherwise, bools included.
    """
    if not is_int(k) or k not in MIN_GROUP_SIZE_RANGE:
        raise ValueError(f"minimum group size k must be an integer from 3 to 10, got {k!r}")
    return int(k)


def is_shown(n: int, k: int) -> bool:
    """Return whether a lone group of ``n`` responses clears the threshold ``k``.

    Enough for a result that no other visible result overlaps (a company
    total with no breakdown); anything with subgroups goes through
    :func:`scoring.disclosure.disclose`.

    :raise ValueError: for a negative or non-integer ``n`` or a ``k`` outside 3..10.
    """
    k = check_min_group_size(k)
    if not is_int(n) or n < 0:
        raise ValueError(f"group size n must be a non-negative integer, got {n!r}")
    return n >= k


def comments_shown(respondents: int, k: int, threshold: int = COMMENT_THRESHOLD) -> bool:
    """Whether the company's comments may be shown: at least ``max(k, threshold)`` respondents."""
    return is_shown(respondents, k) and respondents >= threshold
