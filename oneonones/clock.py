"""Clock changes of a time zone: when they happen, and which wall-clock times they skip or repeat.

Pure functions over ``zoneinfo``: no Flask, no database. The VTIMEZONE writer, the
schedule's refusals and the feed's explicit meetings all read clock changes from here, so
they agree on every one.

A wall-clock time is *clear* in a zone when it happens exactly once there. It is *skipped*
in a gap (02:30 on the spring change in Rome) and *repeated* in an overlap (02:30 on the
autumn change). RFC 5545 reads a skipped time with the offset before the gap and a repeated
one as its first occurrence; ``zoneinfo`` does the same with ``fold=0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Change:
    """One clock change: at ``at`` (UTC) the offset goes from ``before`` to ``after``."""

    at: datetime
    before: timedelta
    after: timedelta
    is_dst: bool  # daylight saving time is in force after the change
    name: str  # the abbreviation in force after it (CEST, EST, ...)

    @property
    def local_before(self) -> datetime:
        """The wall clock (naive) when it happens, as read just before: 02:00 for Rome in spring."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def local_after(self) -> datetime:
        """The wall clock (naive) it shows just after: 03:00 for Rome in spring."""
        return (self.at + self.after).replace(tzinfo=None)

    @property
    def is_gap(self) -> bool:
        return self.after > self.before


def _state(instant: datetime, tz: ZoneInfo) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(tz)
    return local.utcoffset(), bool(local.dst()), local.tzname() or ""


@lru_cache(maxsize=512)
def changes(zone: str, first_year: int, last_year: int) -> tuple[Change, ...]:
    """Every change of ``zone`` from 1 January ``first_year`` to 31 December ``last_year`` (UTC), in order.

    Found by sampling each day and bisecting to the second: no zone changes twice within a day.
    A change of name or of daylight saving time alone counts as a change too.
    """
    tz = ZoneInfo(zone)
    instant = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found = []
    state = _state(instant, tz)
    while instant < end:
        following = instant + _DAY
        next_state = _state(following, tz)
        if next_state != state:
            low, high = instant, following  # state at low, next_state (or yet another) at high
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _state(middle, tz) == state:
                    low = middle
                else:
                    high = middle
            offset, is_dst, name = _state(high, tz)
            found.append(Change(high, state[0], offset, is_dst, name))
        instant, state = following, next_state
    return tuple(found)


def resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``tz`` as UTC, read as RFC 5545 does (skipped: offset before; repeated: first)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def is_clear(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether a naive wall-clock time happens exactly once in ``tz``."""
    return wall.replace(tzinfo=tz, fold=0).utcoffset() == wall.replace(tzinfo=tz, fold=1).utcoffset()


def is_skipped(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether a naive wall-clock time never happens in ``tz`` (it falls in a gap)."""
    return resolve(wall, tz).astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None, fold=0)


def change_around(wall: datetime, zone: str) -> Change | None:
    """The clock change that skips or repeats the naive wall-clock time ``wall`` in ``zone``, if any."""
    tz = ZoneInfo(zone)
    wall = wall.replace(tzinfo=None, fold=0)
    if is_clear(wall, tz):
        return None
    for change in changes(zone, wall.year - 1, wall.year + 1):
        low, high = sorted((change.local_before, change.local_after))
        if low <= wall < high:
            return change
    return None  # pragma: no cover - is_clear said a change is there


def is_second_pass(instant: datetime, zone: str) -> bool:
    """Whether ``instant`` shows a repeated wall-clock time for the second time (fold 1) in ``zone``."""
    tz = ZoneInfo(zone)
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return not is_clear(wall, tz) and resolve(wall, tz) != instant.astimezone(UTC)


def touches_change(wall_start: datetime, length: timedelta, tz: ZoneInfo) -> bool:
    """Whether a meeting from the naive wall-clock ``wall_start`` for ``length`` meets a clock change.

    Then its start or end is skipped or repeated, or the offset differs between them, and
    clients that add the length to the wall clock disagree with one that counts real minutes.
    """
    wall_end = wall_start + length
    return (not is_clear(wall_start, tz) or not is_clear(wall_end, tz)
            or resolve(wall_start, tz).astimezone(tz).utcoffset() != resolve(wall_end, tz).astimezone(tz).utcoffset())
