"""Who may do what with a one-on-one, as one table: every page and endpoint × six kinds of caller.

The series is between "manager" and "report". "colleague" is another report of
the same manager, "other_manager" manages a different team, "hr" is an HR
administrator; none of them is in the series. POSTs carry an empty form, as in
tests/test_access.py. Only who added an item may remove it: the page removes
an agenda item of the report's and an action item of the manager's, the API
the other way round. Each role runs the whole table in one test (one login),
reading routes first and changing things last.
"""

from datetime import UTC, datetime, timedelta

import pytest

from oneonones import feeds
from oneonones.agenda import add_action_item, add_agenda_item, save_private_note
from oneonones.occurrences import next_occurrence
from oneonones.series import create_series
from tests.conftest import PASSWORD

ROLES = ("anonymous", "manager", "report", "colleague", "other_manager", "hr")
LOGIN = "login"
SERIES = "/one-on-ones/{series}"
MEETING = SERIES + "/meetings/{key}"


def row(anonymous, manager, report, others):
    """Expected status per role; ``others`` for colleague, other_manager and hr alike unless a tuple."""
    colleague, other_manager, hr = others if isinstance(others, tuple) else (others,) * 3
    return dict(zip(ROLES, (anonymous, manager, report, colleague, other_manager, hr), strict=True))


# endpoint, method, path, expected — in the order they run.
TABLE = [
    ("oneonones.index", "GET", "/one-on-ones", row(LOGIN, 200, 200, 200)),
    ("oneonones.series_new", "GET", "/one-on-ones/new", row(LOGIN, 200, 403, (403, 200, 403))),
    ("oneonones.series_detail", "GET", SERIES, row(LOGIN, 200, 200, 403)),
    ("oneonones.series_edit", "GET", SERIES + "/edit", row(LOGIN, 200, 403, 403)),
    ("oneonones.series_end_confirm", "GET", SERIES + "/end", row(LOGIN, 200, 403, 403)),
    ("oneonones.occurrence", "GET", MEETING, row(LOGIN, 200, 200, 403)),
    ("oneonones.calendar", "GET", "/one-on-ones/calendar", row(LOGIN, 200, 200, 200)),
    ("oneonones.feed", "GET", "/calendar/{feed}.ics", row(200, 200, 200, 200)),
    ("api.oneonones_occurrences", "GET", "/api/v1/one-on-ones/{series}/occurrences", row(401, 200, 200, 403)),
    ("api.oneonones_occurrence", "GET", "/api/v1/one-on-ones/{series}/occurrences/{key}", row(401, 200, 200, 403)),
    # Only the manager and the report made a feed; nobody else's is made by asking.
    ("api.my_calendar", "GET", "/api/v1/me/calendar", row(401, 200, 200, 404)),
    ("api.oneonones_create", "POST", "/api/v1/one-on-ones", row(401, 400, 400, 400)),
    ("oneonones.agenda_add", "POST", MEETING + "/agenda", row(LOGIN, 422, 422, 403)),
    ("oneonones.agenda_toggle", "POST", MEETING + "/agenda/{agenda}", row(LOGIN, 302, 302, 403)),
    ("oneonones.action_add", "POST", MEETING + "/actions", row(LOGIN, 422, 422, 403)),
    ("oneonones.action_toggle", "POST", MEETING + "/actions/{action}", row(LOGIN, 302, 302, 403)),
    ("oneonones.note_save", "POST", MEETING + "/note", row(LOGIN, 302, 302, 403)),
    ("oneonones.agenda_delete", "POST", MEETING + "/agenda/{report_agenda}/delete", row(LOGIN, 403, 302, 403)),
    ("oneonones.action_delete", "POST", MEETING + "/actions/{manager_action}/delete", row(LOGIN, 302, 403, 403)),
    ("api.oneonones_agenda_delete", "DELETE", "/api/v1/one-on-ones/{series}/agenda-items/{manager_agenda}",
     row(401, 204, 403, 403)),
    ("api.oneonones_action_delete", "DELETE", "/api/v1/one-on-ones/{series}/action-items/{report_action}",
     row(401, 403, 204, 403)),
    ("oneonones.occurrence_move", "POST", MEETING + "/move", row(LOGIN, 422, 403, 403)),
    ("oneonones.occurrence_action", "POST", MEETING + "/cancel", row(LOGIN, 302, 403, 403)),
    # An empty body is malformed before anyone's rights are looked at, as for every JSON body.
    ("api.oneonones_occurrence_move", "POST", "/api/v1/one-on-ones/{series}/occurrences/{key}/move",
     row(401, 400, 400, 400)),
    ("api.oneonones_occurrence_cancel", "POST", "/api/v1/one-on-ones/{series}/occurrences/{key}/cancel",
     row(401, 200, 403, 403)),
    ("api.oneonones_occurrence_restore", "POST", "/api/v1/one-on-ones/{series}/occurrences/{key}/restore",
     row(401, 200, 403, 403)),
    ("api.my_calendar_create", "POST", "/api/v1/me/calendar", row(401, 201, 201, 201)),
    ("oneonones.calendar_action", "POST", "/one-on-ones/calendar/create", row(LOGIN, 302, 302, 302)),
    ("oneonones.series_action", "POST", SERIES + "/pause", row(LOGIN, 302, 403, 403)),
]


@pytest.fixture
def cast(factory):
    manager = factory.person("manager@example.com", name="Marta Galli")
    other_manager = factory.person("other.manager@example.com", name="Olga Verdi")
    factory.person("someone@example.com", manager=other_manager)
    return {
        "manager": manager, "other_manager": other_manager,
        "report": factory.person("report@example.com", name="Enzo Fontana", manager=manager),
        "colleague": factory.person("colleague@example.com", name="Carla Neri", manager=manager),
        "hr": factory.person("hr@example.com", role="hr_admin"),
    }


@pytest.fixture
def ids(cast):
    now = datetime.now(UTC)
    series = create_series(cast["manager"], {
        "report_email": "report@example.com", "cadence": "weekly",
        "starts_at": (now + timedelta(days=1)).replace(second=0, microsecond=0).isoformat()}, now)
    meeting = next_occurrence(series, now)
    agenda = add_agenda_item(series, meeting, cast["report"], "Career goals", now)
    action = add_action_item(series, meeting, cast["manager"],
                                      {"text": "Book a course", "owner_id": cast["report"].id}, now)
    removable = {
        "report_agenda": add_agenda_item(series, meeting, cast["report"], "Typo agenda", now).id,
        "manager_agenda": add_agenda_item(series, meeting, cast["manager"], "Wrong agenda", now).id,
        "manager_action": add_action_item(series, meeting, cast["manager"],
                                                   {"text": "Typo action", "owner_id": cast["report"].id}, now).id,
        "report_action": add_action_item(series, meeting, cast["report"],
                                                  {"text": "Wrong action", "owner_id": cast["report"].id}, now).id,
    }
    feed_urls = {name: feeds.regenerate_feed(cast[name], now).removeprefix("http://localhost")
                 for name in ("manager", "report")}
    save_private_note(series, meeting, cast["manager"], "MANAGER-SECRET-7741", now)
    save_private_note(series, meeting, cast["report"], "REPORT-SECRET-1357", now)
    return {"series": series.id, "key": meeting.key, "agenda": agenda.id, "action": action.id,
            "feed": feed_urls["report"].rsplit("/", 1)[1].removesuffix(".ics"), "feeds": feed_urls, **removable}


def _sign_in(client, cast, role) -> dict:
    if role == "anonymous":
        return {}
    email = cast[role].email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_table_covers_every_one_on_one_route(app):
    mine = ("oneonones.", "api.oneonones_", "api.my_calendar")
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith(mine)}
    assert endpoints == {endpoint for endpoint, *_ in TABLE}


@pytest.mark.parametrize("role", ROLES)
def test_access_by_role(client, cast, ids, role):
    headers = _sign_in(client, cast, role)
    for endpoint, method, path, expected in TABLE:
        url = path.format(**ids)
        response = client.open(url, method=method, data="" if method == "POST" else None,
                               headers=headers if endpoint.startswith("api.") else {})
        want = expected[role]
        if want == LOGIN:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), endpoint
        else:
            assert response.status_code == want, (endpoint, role, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_nobody_but_the_author_reads_a_private_note(client, cast, ids, role):
    headers = _sign_in(client, cast, role)
    pages = [SERIES, MEETING, "/one-on-ones", "/one-on-ones/calendar", *ids["feeds"].values(),
             "/api/v1/one-on-ones/{series}/occurrences", "/api/v1/one-on-ones/{series}/occurrences/{key}",
             "/api/v1/me/calendar"]
    seen = ""
    for path in pages:
        url = path.format(**ids)
        seen += client.get(url, headers=headers if url.startswith("/api/") else {}).get_data(as_text=True)
    own = {"manager": "MANAGER-SECRET-7741", "report": "REPORT-SECRET-1357"}.get(role)
    for secret in ("MANAGER-SECRET-7741", "REPORT-SECRET-1357"):
        assert (secret in seen) == (secret == own), (role, secret)
