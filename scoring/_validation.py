"""Input checks shared by the scoring modules.

Every check raises ``ValueError`` with a message naming the offending value;
a container of the wrong kind altogether raises ``TypeError``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence


def is_int(value: object) -> bool:
    """Return True for integers (NumPy's too), False for bools and all else."""
    # bool is an int subclass, but True as an answer or a count is a bug.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_count(value: object, what: str) -> int:
    """Return ``value`` as an int if it is a non-negative integer.

    :raise ValueError: for negatives, bools, floats and anything not an integer.
    """
    if not is_int(value) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


def check_probability(value: object, what: str) -> float:
    """Return ``value`` as a float if it lies strictly between 0 and 1.

    :raise ValueError: for 0, 1, NaN, bools and non-numbers.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"{what} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def histogram(counts: object, scores: range, what: str) -> tuple[int, ...]:
    """Return per-score counts aligned with ``scores``.

    ``counts`` is either a sequence with one count per score (index 0 is
    ``scores[0]``) or a mapping score -> count in which missing scores count 0.

    :raise ValueError: for a sequence of the wrong length, a key outside
        ``scores`` (or not an integer), or a count that is not a
        non-negative integer.
    :raise TypeError: if ``counts`` is neither a sequence nor a mapping.
    """
    first, last = scores[0], scores[-1]
    if isinstance(counts, Mapping):
        aligned = [0] * len(scores)
        for score, count in counts.items():
            if not is_int(score) or not first <= score <= last:
                raise ValueError(f"{what}: keys must be integer scores {first}..{last}, got {score!r}")
            aligned[score - first] = check_count(count, f"{what}: count for score {score}")
        return tuple(aligned)
    # A str is a Sequence too, and "0123456789a" must not pass as 11 counts.
    if isinstance(counts, Sequence) and not isinstance(counts, (str, bytes, bytearray)):
        if len(counts) != len(scores):
            raise ValueError(f"{what}: expected {len(scores)} counts (scores {first}..{last}), got {len(counts)}")
        return tuple(
            check_count(count, f"{what}: count for score {score}") for score, count in zip(scores, counts, strict=True)
        )
    raise TypeError(
        f"{what}: expected a sequence of {len(scores)} counts or a mapping score -> count, got {type(counts).__name__}"
    )
