"""VTIMEZONE components as calendar servers write them: a yearly RRULE for each rule in force.

``icalendar``'s own ``Timezone.from_tzinfo`` lists every change in one comma-separated RDATE
and stops at a last date; ical.js reads such a list as its first date only, and every client
is an hour off after the last one. Here the changes come from ``zoneinfo`` (see
``oneonones.clock``) and the rule a zone follows now is found in them: when, for as far as
``RULE_YEARS`` years after the feed's horizon, each year has one change into and one out of
daylight saving time on the same weekday rule of the same month at the same wall-clock time,
the two are written as ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..`` and hold for ever. Earlier
changes (an older rule, a zone that dropped daylight saving time) are written one component
each, with a single DTSTART and no RDATE list. A zone with no such rule (Morocco's changes
follow Ramadan) has every change written, up to the last year asked for.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from oneonones.clock import Change, changes

RULE_YEARS = 40
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _kind(change: Change) -> tuple[timedelta, timedelta, bool, str]:
    return change.before, change.after, change.is_dst, change.name


def _byday(walls: Sequence[datetime]) -> dict[str, object] | None:
    """The RRULE parts naming the day of each of these changes' dates, if one rule names them all.

    The same weekday of the same month, and: within the month's last seven days ("-1SU"), or
    within the same seven days from the 1st ("2SU"), or within one window of seven days
    ("SU" on the 24th to the 30th: the Saturday before the last Sunday).
    """
    months = {w.month for w in walls}
    weekdays = {w.weekday() for w in walls}
    if len(months) != 1 or len(weekdays) != 1:
        return None
    month, day = months.pop(), WEEKDAYS[weekdays.pop()]
    if all(w.day > gregorian.monthrange(w.year, w.month)[1] - 7 for w in walls):
        return {"BYMONTH": month, "BYDAY": f"-1{day}"}
    weeks = {(w.day - 1) // 7 for w in walls}
    if len(weeks) == 1:
        return {"BYMONTH": month, "BYDAY": f"{weeks.pop() + 1}{day}"}
    low, high = min(w.day for w in walls), max(w.day for w in walls)
    if high - low == 6 and month != 2:  # February's windows move with leap years
        return {"BYMONTH": month, "BYDAY": day, "BYMONTHDAY": list(range(low, high + 1))}
    return None


def _rules(found: Sequence[Change], last_year: int) -> list[tuple[Change, dict[str, object]]] | None:
    """The two yearly rules that produce exactly ``found``, each with its first change, or None.

    Two kinds of change that alternate, one of each every year until ``last_year``, each
    on one weekday rule at one wall-clock time.
    """
    kinds = {_kind(c) for c in found}
    if len(kinds) != 2 or any(_kind(a) == _kind(b) for a, b in pairwise(found)):
        return None
    rules = []
    for kind in sorted(kinds, key=lambda k: next(i for i, c in enumerate(found) if _kind(c) == k)):
        own = [c for c in found if _kind(c) == kind]
        walls = [c.local_before for c in own]
        years = [w.year for w in walls]
        if years != list(range(years[0], years[0] + len(years))) or years[-1] < last_year:
            return None
        if len({w.time() for w in walls}) != 1:
            return None
        byday = _byday(walls)
        if byday is None:
            return None
        rules.append((own[0], {"FREQ": "YEARLY", **byday}))
    return rules


def _observance(change: Change, dtstart: datetime, rule: dict[str, object] | None = None):
    component = TimezoneDaylight() if change.is_dst else TimezoneStandard()
    component.add("tzname", change.name)
    component.add("tzoffsetfrom", change.before)
    component.add("tzoffsetto", change.after)
    component.add("dtstart", dtstart)
    if rule is not None:
        component.add("rrule", rule)
    return component


@lru_cache(maxsize=256)
def vtimezone(zone: str, first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of ``zone`` for events from ``first_year`` on, right for ever where a rule allows.

    Without a rule in force (see the module), changes are written up to ``last_year``.
    Identical arguments give an identical component, so a feed's bytes change only with its content.
    """
    tz = ZoneInfo(zone)
    found = list(changes(zone, first_year, last_year + RULE_YEARS))
    start, rules = len(found), None
    # The longest run of changes at the end that two yearly rules produce. Shorter runs may fail
    # where a longer one passes (a window of seven days is seen whole only over years), so the
    # search starts from the longest.
    for candidate in range(len(found) - 1):
        rules = _rules(found[candidate:], last_year + RULE_YEARS - 1)
        if rules is not None:
            start = candidate
            break
    if rules is not None and found[start].at.year > last_year:
        start, rules = len(found), None  # a rule seen only beyond the horizon is not trusted
    component = Timezone()
    component.add("tzid", zone)
    # Anchors the first year, so a client knows the offset before the first change listed.
    anchor = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(tz)
    offset = anchor.utcoffset()
    component.add_component(_observance(Change(anchor, offset, offset, bool(anchor.dst()), anchor.tzname() or ""),
                                         anchor.replace(tzinfo=None)))
    explicit = found[:start] if rules is not None else [c for c in found if c.at.year <= last_year]
    for change in explicit:
        component.add_component(_observance(change, change.local_before))
    for first, rule in rules or ():
        component.add_component(_observance(first, first.local_before, rule))
    return component
