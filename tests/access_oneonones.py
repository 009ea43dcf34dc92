"""Access-table rows for one-on-one routes; merged into tests/test_access.py.

``TABLE`` maps endpoint → (method, path with {placeholders}, {role: expected status or "login"}).
``make_ids(people, factory)`` creates what the paths name and returns the placeholder values;
``people`` has keys "employee" (a report of "manager"), "manager" and "hr_admin".

The series is the manager's with the employee; HR is in neither role, so it
gets 403 on every page of it. The agenda and action items are the employee's,
so only the employee may remove them (the manager gets 403). POSTs carry an empty form: an invalid form is
shown again with 422, an action with nothing to validate redirects (302).
tests/test_oneonones_access.py checks the same routes for five roles.
"""

from datetime import UTC, datetime, timedelta

A, E, M, H = "anonymous", "employee", "manager", "hr_admin"
SERIES = "/one-on-ones/{oo_series}"
MEETING = SERIES + "/meetings/{oo_key}"

TABLE = {
    "oneonones.index": ("GET", "/one-on-ones", {A: "login", E: 200, M: 200, H: 200}),
    "oneonones.series_new": ("GET", "/one-on-ones/new", {A: "login", E: 403, M: 200, H: 403}),
    "oneonones.series_detail": ("GET", SERIES, {A: "login", E: 200, M: 200, H: 403}),
    "oneonones.series_edit": ("GET", SERIES + "/edit", {A: "login", E: 403, M: 200, H: 403}),
    "oneonones.series_end_confirm": ("GET", SERIES + "/end", {A: "login", E: 403, M: 200, H: 403}),
    "oneonones.series_action": ("POST", SERIES + "/pause", {A: "login", E: 403, M: 302, H: 403}),
    "oneonones.occurrence": ("GET", MEETING, {A: "login", E: 200, M: 200, H: 403}),
    "oneonones.occurrence_move": ("POST", MEETING + "/move", {A: "login", E: 403, M: 422, H: 403}),
    "oneonones.occurrence_action": ("POST", MEETING + "/cancel", {A: "login", E: 403, M: 302, H: 403}),
    "oneonones.agenda_add": ("POST", MEETING + "/agenda", {A: "login", E: 422, M: 422, H: 403}),
    "oneonones.agenda_toggle": ("POST", MEETING + "/agenda/{oo_agenda}", {A: "login", E: 302, M: 302, H: 403}),
    "oneonones.action_add": ("POST", MEETING + "/actions", {A: "login", E: 422, M: 422, H: 403}),
    "oneonones.action_toggle": ("POST", MEETING + "/actions/{oo_action}", {A: "login", E: 302, M: 302, H: 403}),
    "oneonones.agenda_delete": ("POST", MEETING + "/agenda/{oo_agenda}/delete",
                                {A: "login", E: 302, M: 403, H: 403}),
    "oneonones.action_delete": ("POST", MEETING + "/actions/{oo_action}/delete",
                                {A: "login", E: 302, M: 403, H: 403}),
    "oneonones.note_save": ("POST", MEETING + "/note", {A: "login", E: 302, M: 302, H: 403}),
    "oneonones.calendar": ("GET", "/one-on-ones/calendar", {A: "login", E: 200, M: 200, H: 200}),
    "oneonones.calendar_action": ("POST", "/one-on-ones/calendar/create", {A: "login", E: 302, M: 302, H: 302}),
    # The feed's secret URL is its own credential (the employee's feed here).
    "oneonones.feed": ("GET", "/calendar/{oo_feed}.ics", {A: 200, E: 200, M: 200, H: 200}),
    "api.oneonones_create": ("POST", "/api/v1/one-on-ones", {A: 401, E: 400, M: 400, H: 400}),
    "api.oneonones_occurrences": ("GET", "/api/v1/one-on-ones/{oo_series}/occurrences",
                                  {A: 401, E: 200, M: 200, H: 403}),
    "api.oneonones_occurrence": ("GET", "/api/v1/one-on-ones/{oo_series}/occurrences/{oo_key}",
                                 {A: 401, E: 200, M: 200, H: 403}),
    "api.oneonones_agenda_delete": ("DELETE", "/api/v1/one-on-ones/{oo_series}/agenda-items/{oo_agenda}",
                                    {A: 401, E: 204, M: 403, H: 403}),
    "api.oneonones_action_delete": ("DELETE", "/api/v1/one-on-ones/{oo_series}/action-items/{oo_action}",
                                    {A: 401, E: 204, M: 403, H: 403}),
    # Only the employee made a feed; asking never makes one.
    "api.my_calendar": ("GET", "/api/v1/me/calendar", {A: 401, E: 200, M: 404, H: 404}),
    "api.my_calendar_create": ("POST", "/api/v1/me/calendar", {A: 401, E: 201, M: 201, H: 201}),
    # An empty body is malformed before anyone's rights are looked at, as for every JSON body.
    "api.oneonones_occurrence_move": ("POST", "/api/v1/one-on-ones/{oo_series}/occurrences/{oo_key}/move",
                                      {A: 401, E: 400, M: 400, H: 400}),
    "api.oneonones_occurrence_cancel": ("POST", "/api/v1/one-on-ones/{oo_series}/occurrences/{oo_key}/cancel",
                                        {A: 401, E: 403, M: 200, H: 403}),
    "api.oneonones_occurrence_restore": ("POST", "/api/v1/one-on-ones/{oo_series}/occurrences/{oo_key}/restore",
                                         {A: 401, E: 403, M: 200, H: 403}),
}


def make_ids(people, factory) -> dict:
    from oneonones import feeds
    from oneonones.agenda import add_action_item, add_agenda_item
    from oneonones.occurrences import next_occurrence
    from oneonones.series import create_series

    now = datetime.now(UTC)
    manager, report = people[M], people[E]
    series = create_series(manager, {
        "report_email": report.email, "cadence": "weekly",
        "starts_at": (now + timedelta(days=2)).replace(hour=9, minute=0).isoformat()}, now)
    occurrence = next_occurrence(series, now)
    item = add_agenda_item(series, occurrence, report, "Career goals", now)
    action = add_action_item(series, occurrence, report, {"text": "Draft plan", "owner_id": report.id},
                                      now)
    url = feeds.regenerate_feed(report, now)
    return {"oo_series": series.id, "oo_key": occurrence.key, "oo_agenda": item.id, "oo_action": action.id,
            "oo_feed": url.rsplit("/", 1)[1].removesuffix(".ics")}
