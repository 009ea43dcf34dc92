"""Temporary facade: the one-on-one services now live in one module per job; this re-exports them.

It exists only so that callers keep working while they move to the new modules, and goes
once none imports it. Nothing is defined here.
"""

from oneonones.access import (
    can_schedule,
    can_write,
    current_series,
    direct_reports,
    end_broken_series,
    get_series,
    pair_series_ids,
    relationship_intact,
    require_manager,
    require_writable,
)
from oneonones.agenda import (
    AgendaRow,
    action_items,
    add_action_item,
    add_agenda_item,
    agenda,
    delete_action_item,
    delete_agenda_item,
    pair_item,
    private_note,
    save_private_note,
    toggle_action_item,
    toggle_agenda_item,
)
from oneonones.conflicts import CONFLICT_HORIZON, busy, refuse_clash
from oneonones.meetings import cancel_occurrence, move_occurrence, restore_occurrence
from oneonones.notices import tell_report
from oneonones.occurrences import (
    HISTORY_WINDOW,
    MAX_RANGE,
    Occurrence,
    exceptions_of,
    find_occurrence,
    neighbours,
    next_occurrence,
    occurrences,
    recent,
    upcoming,
)
from oneonones.overview import (
    NOT_MET_DAYS,
    ReportRow,
    SeriesRow,
    last_meeting,
    manager_overview,
    past_series_as_manager,
    series_as_report,
    series_history,
)
from oneonones.reading import DEFAULT_DURATION
from oneonones.reminders import REMINDER_AHEAD, queue_reminders, tick
from oneonones.series import (
    create_series,
    end_series,
    pause_series,
    resume_series,
    revise,
    serialise,
    update_series,
)
from oneonones.wording import describe_slot, viewer_locale

_busy = busy  # what tests/test_oneonones.py still calls it, until it moves

__all__ = [
    "CONFLICT_HORIZON", "DEFAULT_DURATION", "HISTORY_WINDOW", "MAX_RANGE", "NOT_MET_DAYS", "REMINDER_AHEAD",
    "AgendaRow", "Occurrence", "ReportRow", "SeriesRow", "action_items", "add_action_item", "add_agenda_item",
    "agenda", "busy", "can_schedule", "can_write", "cancel_occurrence", "create_series", "current_series",
    "delete_action_item", "delete_agenda_item", "describe_slot", "direct_reports", "end_broken_series",
    "end_series", "exceptions_of", "find_occurrence", "get_series", "last_meeting", "manager_overview",
    "move_occurrence", "neighbours", "next_occurrence", "occurrences", "pair_item", "pair_series_ids",
    "past_series_as_manager", "pause_series", "private_note", "queue_reminders", "recent", "refuse_clash",
    "relationship_intact", "require_manager", "require_writable", "restore_occurrence", "resume_series", "revise",
    "save_private_note", "serialise", "series_as_report", "series_history", "tell_report", "tick",
    "toggle_action_item", "toggle_agenda_item", "upcoming", "update_series", "viewer_locale",
]
