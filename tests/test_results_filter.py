"""The results filter at any size of organisation, the breakdown in pages, and the reads a large company needs.

The org of ``tests.dashboard_fixtures``: Acme > Big (12, shown), Tiny (3, hidden), Parent > Child;
Bea Boss manages Big's, Parent's and Child's people and Tim Tiny, who manages Tiny's three.
"""

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dashboards import choices, services
from dashboards.models import RoundResult
from surveys.models import Round

PASSWORD = "correct horse battery"


def login(client, email):
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def breakdown(html: str) -> list[str]:
    table = re.search(r'<table[^>]*id="breakdown".*?</table>', html, re.S).group(0)
    return re.findall(r'<th scope="row">([^<]*)</th>', table)


def options(html: str, select: str) -> list[str]:
    block = re.search(rf'<select[^>]*id="{select}".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", block)


def matches(html: str) -> str | None:
    found = re.search(r'<section aria-labelledby="matches-title".*?</section>', html, re.S)
    return found.group(0) if found else None


@pytest.fixture
def large(monkeypatch):
    """As if the organisation were too large to list whole (more than ``FULL_LIST`` choices)."""
    monkeypatch.setattr(choices, "FULL_LIST", 0)


def test_a_small_organisation_picks_from_the_whole_list_with_no_search(client, closed, org):
    login(client, "hr@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert options(html, "f-department") == ["Whole company", "Acme", "Acme / Big", "Acme / Parent",
                                             "Acme / Parent / Child", "Acme / Tiny"]
    assert 'id="group-search"' not in html


def test_a_large_organisation_lists_the_top_levels_only(client, closed, org, large):
    login(client, "hr@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert options(html, "f-department") == ["Whole company", "Acme", "Acme / Big", "Acme / Parent", "Acme / Tiny"]
    assert 'role="search"' in html and 'id="f-find"' in html
    assert 'aria-describedby="f-department-help"' in html and 'id="f-department-help"' in html


def test_choosing_a_department_lists_the_way_to_it_and_the_departments_right_below(client, closed, org, large):
    login(client, "hr@example.com")
    html = client.get(f"/results?department={org['parent'].id}").get_data(as_text=True)
    assert "Acme / Parent / Child" in options(html, "f-department")
    assert re.search(rf'<option value="{org["parent"].id}" selected>Acme / Parent</option>', html)
    html = client.get(f"/results?department={org['child'].id}").get_data(as_text=True)
    assert re.search(rf'<option value="{org["child"].id}" selected>Acme / Parent / Child</option>', html)


def test_only_so_many_departments_right_below_are_listed_and_the_rest_are_counted(db, closed, org, large,
                                                                                  monkeypatch):
    monkeypatch.setattr(choices, "BELOW", 1)
    found = choices.departments(org["acme"].id)
    # Acme's three children are top levels: listed whatever BELOW says.
    assert [label for _id, label in found.options] == ["Acme", "Acme / Big", "Acme / Parent", "Acme / Tiny"]
    assert found.not_listed == 2


def test_a_search_finds_a_department_by_any_part_of_its_name_ignoring_case(client, closed, org, large):
    login(client, "hr@example.com")
    section = matches(client.get("/results?find=hIL").get_data(as_text=True))
    assert re.findall(r"<a href=\"([^\"]*)\">([^<]*)</a>", section) == [
        (f"/results?survey={closed['survey'].id}&amp;department={org['child'].id}", "Acme / Parent / Child")]


def test_a_search_treats_wildcards_as_letters(client, closed, org, large):
    login(client, "hr@example.com")
    section = matches(client.get("/results?find=%25").get_data(as_text=True))
    assert "<a " not in section and "No department’s name contains “%”." in section


def test_searching_for_a_hidden_department_reveals_nothing_the_list_does_not(client, closed, org, large):
    """The attack: a search must not tell a group the guard hides from one it shows, nor give a number."""
    login(client, "hr@example.com")
    hidden = client.get("/results?find=Tiny").get_data(as_text=True)
    shown = client.get("/results?find=Big").get_data(as_text=True)
    hidden_section, shown_section = matches(hidden), matches(shown)
    assert re.sub(r"department=\d+", "", hidden_section).replace("Tiny", "X") == \
        re.sub(r"department=\d+", "", shown_section).replace("Big", "X")
    # What it finds is what the whole list says of it: its name and its path.
    assert "Acme / Tiny" in options(client.get("/results", headers={}).get_data(as_text=True), "f-department")
    assert re.sub(r"<[^>]+>", " ", hidden_section).split() == ["Found", "for", "“Tiny”", "Acme", "/", "Tiny"]
    # The rest of the page is the company's, the same whichever name was searched for.
    assert re.sub(r'find=Tiny|value="Tiny"', "Q", hidden.replace(hidden_section, "")) == \
        re.sub(r'find=Big|value="Big"', "Q", shown.replace(shown_section, ""))


def test_a_search_lists_at_most_so_many_and_says_so(client, closed, org, large, monkeypatch):
    monkeypatch.setattr(choices, "MATCHES", 2)
    login(client, "hr@example.com")
    section = matches(client.get("/results?find=i").get_data(as_text=True))
    assert len(re.findall("<li>", section)) == 2 and "Only the first 2 are listed" in section


def test_a_manager_searches_only_the_teams_of_their_own_organisation(client, closed, org, large):
    login(client, "tinyboss@example.com")
    section = matches(client.get("/results?find=Bea").get_data(as_text=True))
    assert "<a " not in section and "Bea" not in re.sub(r"“[^”]*”", "", section)


def test_a_manager_finds_a_hidden_team_below_them_as_the_list_would_name_it(client, closed, org, large):
    login(client, "boss@example.com")
    html = client.get("/results?find=tim").get_data(as_text=True)
    links = re.findall(r"<a href=\"([^\"]*)\">([^<]*)</a>", matches(html))
    assert links == [(f"/results?survey={closed['survey'].id}&amp;team={org['tiny_boss'].id}", "Team of Tim Tiny")]
    assert options(html, "f-team") == ["Team of Bea Boss", "Team of Tim Tiny"]


def test_the_manager_filter_keeps_the_team_asked_for_selected_when_it_is_rolled_up(client, closed, org):
    login(client, "tinyboss@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert 'id="roll-up"' in html
    assert re.search(rf'<option value="{org["tiny_boss"].id}" selected>Team of Tim Tiny</option>', html)


def test_the_breakdown_is_shown_in_pages_by_name(client, closed, org, monkeypatch):
    monkeypatch.setattr(services, "BREAKDOWN_PAGE", 2)
    login(client, "hr@example.com")
    first = client.get("/results").get_data(as_text=True)
    assert breakdown(first) == ["Big", "Parent"]
    assert "Groups 1 to 2 of 3, by name." in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/results?page=2").get_data(as_text=True)
    assert breakdown(second) == ["Tiny"]
    assert "Groups 3 to 3 of 3, by name." in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_the_export_holds_the_whole_breakdown(client, closed, org, monkeypatch):
    monkeypatch.setattr(services, "BREAKDOWN_PAGE", 1)
    login(client, "hr@example.com")
    body = client.get("/results/export.csv").get_data(as_text=True)
    assert all(name in body for name in ("Big", "Parent", "Tiny"))


def test_breakdowns_of_many_rounds_at_once_are_each_rounds_breakdown(db, closed):
    survey, round_ = closed["survey"], closed["round"]
    together = services.department_breakdowns(survey, [round_])
    assert together == {round_.id: services.department_breakdown(survey, round_)}
    assert [g.label for g in together[round_.id]] == ["Big", "Parent", "Tiny"]


def test_listed_rounds_leave_their_membership_snapshot_unread(db, closed):
    survey = closed["survey"]
    db.session.expire_all()
    (round_,) = services.closed_rounds(survey)
    assert "snapshot" in sa.inspect(round_).unloaded
    assert round_.snapshot is not None  # still there for whoever reads it


def test_names_of_more_ids_than_a_statement_may_bind(db, org):
    ids = [*range(10_000_000, 10_040_000), org["boss"].id, *range(20_000_000, 20_040_000)]
    assert services.labels("manager", ids) == {org["boss"].id: "Bea Boss"}


def test_the_children_index_is_in_the_model_and_the_migration(db):
    assert any(index.name == "ix_round_results_children" for index in RoundResult.__table__.indexes)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert [d for d in diff if "round_results" in repr(d)] == []


def test_a_round_keeps_its_snapshot_deferred_through_closing(db, closed):
    assert db.session.scalar(sa.select(Round.snapshot).where(Round.id == closed["round"].id)) is not None


def test_a_breakdown_page_past_the_last_shows_the_last(client, closed, org, monkeypatch):
    monkeypatch.setattr(services, "BREAKDOWN_PAGE", 2)
    login(client, "hr@example.com")
    html = client.get("/results?page=99").get_data(as_text=True)
    assert breakdown(html) == ["Tiny"] and "Groups 3 to 3 of 3, by name." in html
