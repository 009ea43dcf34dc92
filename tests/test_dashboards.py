"""Dashboards: stored results, the guard on every path, figures, exports, API, sharing."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import tasks
from dashboards import display, figures, services
from dashboards.display import QuestionLabel
from dashboards.models import RoundResult
from dashboards.results import count_round, current_trees
from scoring import enps, trend
from surveys import answering, building, invitations, rounds
from surveys.models import Question, Round
from tests.dashboard_fixtures import NOW


def test_closing_a_round_stores_results_equal_to_a_live_recount(db, closed):
    round_id = closed["round"].id
    stored = {(r.kind, r.key): (r.parent_key, r.responses, r.shown, r.reason, r.invited, r.histograms, r.pairs,
                                 r.comments)
              for r in db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == round_id))}
    live = {(r["kind"], r["key"]): (r["parent_key"], r["responses"], r["shown"], r["reason"], r["invited"],
                                   r["histograms"], r["pairs"], r["comments"])
            for r in count_round(round_id).rows(round_id, current_trees(), closed["survey"].min_group_size)}
    assert stored == live
    assert stored[("company", 0)][1] == 27


def test_department_subtree_totals_include_children(db, closed, org):
    rows = {r.key: r for r in db.session.scalars(sa.select(RoundResult).where(
        RoundResult.round_id == closed["round"].id, RoundResult.kind == "department"))}
    # Parent's two direct members are a segment of two: their answers are stored as "somewhere in Acme".
    assert rows[org["parent"].id].responses == 10 and rows[org["child"].id].responses == 10
    assert rows[org["child"].id].parent_key == org["parent"].id
    # Boss, Parent's two and Tiny's three are too few even as "somewhere in Acme": with HR (who did not
    # answer) they make up the round's rest, stored with no department.
    assert rows[org["acme"].id].responses == 21


def test_tiny_department_is_stored_generalised_and_shown_as_too_small(db, closed, org):
    groups = {g.label: g for g in services.department_breakdown(closed["survey"], closed["round"])}
    assert not groups["Tiny"].shown and groups["Tiny"].reason == "too_few_invited"
    assert groups["Tiny"].n is None and groups["Tiny"].enps is None
    survey, round_ = closed["survey"], closed["round"]
    parent = services.results_for_round(survey, round_, services.Scope("department", org["parent"].id))
    child = services.results_for_round(survey, round_, services.Scope("department", org["child"].id))
    # Both may be shown: they now hold the same ten people, so their difference is nobody.
    assert parent.n == child.n == 10
    # Tiny's three answers of 0 are in no shown group smaller than the company.
    for group in groups.values():
        if group.shown and group.label != "Acme":
            assert group.enps.detractors == 0, group.label


# --- No number of a hidden group on any path ------------------------------------------------


def login(client, email):
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302


def figures_in(html: str) -> list[dict]:
    return [json.loads(m.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
            for m in re.findall(r'data-figure="([^"]*)"', html)]


def test_page_filtered_to_the_tiny_department_shows_no_number(client, closed, org):
    login(client, "hr@example.com")
    html = client.get(f"/results?department={org['tiny'].id}").get_data(as_text=True)
    assert "Hidden: fewer than 5 people in this group." in html
    assert 'id="headline-score"' not in html
    for figure in figures_in(html):
        for trace in figure["data"]:
            assert all(v is None for v in trace.get("y", []) if not isinstance(v, str)), trace
    text = re.sub(r'data-figure="[^"]*"', "", html)
    assert not re.search(r"(?<![\w-])[−-]100(?!\d)", text)


def test_breakdown_row_of_a_hidden_department_has_no_numbers(client, closed, org):
    login(client, "hr@example.com")
    html = client.get("/results").get_data(as_text=True)
    row = re.search(r"<th scope=\"row\">Tiny</th>(.*?)</tr>", html, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", row)
    assert text.strip() == "Hidden: fewer than 5 people in this group."
    assert "TINY-SECRET-COMMENT" in html  # company level: 27 responses, comments shown


def test_comments_are_never_shown_below_company_level(client, closed, org):
    login(client, "hr@example.com")
    html = client.get(f"/results?department={org['big'].id}").get_data(as_text=True)
    assert "TINY-SECRET-COMMENT" not in html and "Comments, latest round" not in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_mark_hidden_rows_hidden_with_no_numbers(client, closed, org, fmt):
    login(client, "hr@example.com")
    response = client.get(f"/results/export.{fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    else:
        frame = pd.concat(pd.read_excel(io.BytesIO(response.data), sheet_name=None).values())
    tiny = frame[frame["Group"] == "Tiny"]
    assert len(tiny) == 1 and tiny.iloc[0]["Status"] == "Hidden: fewer than 5 people in this group."
    numeric = ["Answers", "eNPS", "95% interval, low", "95% interval, high", "Promoters", "Passives", "Detractors",
               "Invited who answered (%)"]
    assert tiny[numeric].isna().all(axis=None)
    assert b"TINY-SECRET-COMMENT" not in response.data


def test_csv_is_aggregated_rows_only(client, closed):
    login(client, "hr@example.com")
    rows = list(csv.DictReader(io.StringIO(client.get("/results/export.csv").data.decode("utf-8-sig"))))
    assert {r["Section"] for r in rows} == {"Trend", "Breakdown", "Drivers"}
    company = next(r for r in rows if r["Section"] == "Trend")
    expected = enps([3, 0, 0, 0, 0, 0, 0, 2, 10, 12, 0]).score
    assert company["Answers"] == "27" and float(company["eNPS"]) == pytest.approx(expected, abs=0.05)


def test_api_suppresses_the_tiny_department_without_numbers(client, closed, org, api_token):
    headers = api_token("hr@example.com")
    body = client.get(f"/api/v1/rounds/{closed['round'].id}/results?department_id={org['tiny'].id}",
                      headers=headers).get_json()
    assert body == {"round_id": closed["round"].id, "suppressed": True, "reason": "too_few_invited",
                    "min_group_size": 5}
    company = client.get(f"/api/v1/rounds/{closed['round'].id}/results", headers=headers).get_json()
    assert company["n"] == 27 and company["enps"]["n"] == 27
    assert set(company["enps"]) == {"n", "promoters", "passives", "detractors", "score", "ci_low", "ci_high",
                                    "margin_of_error"}


def test_api_trend_by_department_suppresses_hidden_departments(client, closed, org, api_token):
    body = client.get(f"/api/v1/surveys/{closed['survey'].id}/trend?group_by=department",
                      headers=api_token("hr@example.com")).get_json()
    departments = {d["name"]: d for d in body["points"][0]["departments"]}
    assert departments["Tiny"] == {"department_id": org["tiny"].id, "name": "Tiny", "suppressed": True,
                                   "reason": "too_few_invited", "min_group_size": 5}
    assert body["points"][0]["company"]["n"] == 27


def test_api_results_of_an_open_round_are_suppressed(client, org, api_token, db):
    survey = building.create_survey({"title": "P", "cadence": "once", "questions": [{"library_key": "enps"}]}, NOW)
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    body = client.get(f"/api/v1/rounds/{round_.id}/results", headers=api_token("hr@example.com")).get_json()
    assert body == {"round_id": round_.id, "suppressed": True, "reason": "round_open"}


@pytest.mark.parametrize(("query", "field"), [("department_id=x", "department_id"), ("manager_id=1.5", "manager_id")])
def test_api_bad_filters_are_422(client, closed, api_token, query, field):
    response = client.get(f"/api/v1/rounds/{closed['round'].id}/results?{query}", headers=api_token("hr@example.com"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_manager_of_a_team_under_k_sees_the_nearest_larger_group_labelled(client, closed, org):
    login(client, "tinyboss@example.com")
    html = client.get("/results").get_data(as_text=True)
    boss_org = services.results_for_round(closed["survey"], closed["round"], services.Scope("manager", org["boss"].id))
    assert boss_org.shown
    assert ("The results of your team cannot be shown on their own; this is Bea Boss's whole organisation "
            f"({boss_org.n} answers).") in html
    assert 'id="headline-score"' in html and "TINY-SECRET-COMMENT" not in html
    # the larger group as a whole only: none of its other teams or departments is broken out
    assert "Big" not in html.split('id="roll-up"')[1].split("</main>")[0] or "breakdown" not in html


def test_manager_whose_team_and_everything_above_is_hidden_sees_why_and_no_number(client, factory, db):
    boss = factory.person("small@example.com", name="Sam Small")
    for i in range(3):
        factory.person(f"r{i}@example.com", manager=boss)
    building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                            "questions": [{"library_key": "enps", "required": True}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    tasks.tick(db.session.get(Round, round_id).closes_at)
    login(client, "small@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert "Hidden: fewer than 5 people in this group." in html and 'id="roll-up"' not in html
    assert 'id="headline-score"' not in html
    for figure in figures_in(html):
        for trace in figure["data"]:
            assert all(v is None for v in trace.get("y", []) if not isinstance(v, str))


def test_manager_sees_only_their_own_subtree(client, closed, org, api_token):
    login(client, "tinyboss@example.com")
    assert client.get(f"/results?team={org['boss'].id}").status_code == 403
    headers = api_token("tinyboss@example.com")
    url = f"/api/v1/rounds/{closed['round'].id}/results"
    assert client.get(f"{url}?manager_id={org['boss'].id}", headers=headers).status_code == 403
    assert client.get(f"{url}?department_id={org['big'].id}", headers=headers).status_code == 403
    assert client.get(f"{url}?manager_id={org['tiny_boss'].id}", headers=headers).get_json()["suppressed"] is True


def test_team_one_short_of_the_company_is_shown_because_its_manager_is_stored_with_others(
        client, closed, org, api_token):
    # boss's team is everyone but boss and HR; boss's own segment is too small, so it is stored with
    # the other small segments, and the team differs from the company by six answers, not one.
    headers = api_token("boss@example.com")
    url = f"/api/v1/rounds/{closed['round'].id}/results"
    team = client.get(f"{url}?manager_id={org['boss'].id}", headers=headers).get_json()
    company = client.get(url, headers=api_token("hr@example.com")).get_json()
    assert team["suppressed"] is False and company["suppressed"] is False
    assert company["n"] - team["n"] >= 5


def test_employees_see_only_shared_company_results(client, closed, org, db, auth):
    login(client, "big3@example.com")
    assert client.get("/results").status_code == 403
    assert "HR has not shared any results yet." in client.get("/results/shared").get_data(as_text=True)
    services.share_round(closed["round"], org["hr"], NOW)
    html = client.get("/results/shared").get_data(as_text=True)
    assert 'id="headline-score"' in html and "Tiny" not in html and "TINY-SECRET-COMMENT" not in html


def test_sharing_an_open_round_is_refused(client, org, db):
    survey = building.create_survey({"title": "P", "cadence": "once", "questions": [{"library_key": "enps"}]}, NOW)
    round_ = rounds.open_round_now(survey, datetime.now(UTC))
    login(client, "hr@example.com")
    response = client.post(f"/results/rounds/{round_.id}/share", follow_redirects=True)
    assert "Only a closed round can be shared." in response.get_data(as_text=True)
    assert not services.is_shared(round_.id)


# --- Figures as data -------------------------------------------------------------------------


def test_trend_figure_draws_hidden_rounds_as_gaps_and_marks_real_changes(app):
    a, b, c = enps([0] * 9 + [5, 5]), enps([5] + [0] * 10), enps([2] * 6 + [0] * 2 + [3] * 3)
    points = trend([("2026-01-05", a), ("2026-01-12", None), ("2026-01-19", b), ("2026-01-26", c)])
    figure = figures.trend_figure(points)
    line = figure["data"][-1]
    assert list(line["x"]) == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    assert line["y"][1] is None and line["y"][0] == 100 and line["y"][2] == -100
    assert list(line["marker"]["symbol"]) == ["circle", "circle", "diamond", "circle"]
    # w1 stands alone between the start and a hidden round: an error bar, not a band of no width;
    # w3 and w4 share one band, and nothing is drawn across the hidden w2
    bands = figure["data"][:-1]
    assert [list(t["x"]) for t in bands] == [["2026-01-19", "2026-01-26"]] * 2
    assert bands[0]["y"] == pytest.approx([b.ci_high, c.ci_high])
    assert bands[1]["y"] == pytest.approx([b.ci_low, c.ci_low])
    assert line["error_y"]["visible"] is True
    assert line["error_y"]["array"][0] == pytest.approx(a.ci_high - a.score)
    assert line["error_y"]["arrayminus"][0] == pytest.approx(a.score - a.ci_low)
    assert list(line["error_y"]["array"][1:]) == [None, None, None]


def test_trend_figure_of_a_single_round_has_a_visible_interval_and_a_two_week_day_axis(app):
    result = enps([1, 0, 0, 0, 0, 0, 0, 4, 0, 3, 2])
    figure = figures.trend_figure(trend([("2026-09-20", result)]))
    [line] = figure["data"]  # no band: one point has no width
    assert line["error_y"]["visible"] is True
    assert line["error_y"]["array"] == [pytest.approx(result.ci_high - result.score)]
    assert line["error_y"]["arrayminus"] == [pytest.approx(result.score - result.ci_low)]
    axis = figure["layout"]["xaxis"]
    assert axis["type"] == "date" and axis["range"] == ["2026-09-13", "2026-09-27"]
    assert axis["dtick"] == 7 * 24 * 3600 * 1000 and axis["tick0"] == "2026-09-20"  # ticks a week apart, not ms
    assert axis["tickformat"] == "%-d %b %Y"


def test_trend_hover_writes_negative_scores_with_the_minus_sign(app):
    low = enps([5] * 6 + [0, 0, 0, 1, 0])
    [line] = figures.trend_figure(trend([("2026-09-20", low)]))["data"]
    assert line["hovertext"][0].startswith("\u2212") and "-" not in line["hovertext"][0]


def test_distribution_figure_colours_by_category():
    figure = figures.distribution_figure([1] * 11)
    colors = list(figure["data"][0]["marker"]["color"])
    assert colors[:7] == [figures.COLORS["detractor"]] * 7
    assert colors[7:9] == [figures.COLORS["passive"]] * 2 and colors[9:] == [figures.COLORS["promoter"]] * 2
    assert sum(figure["data"][0]["y"]) == pytest.approx(100, abs=0.5)


def test_favorability_figure_stacks_unfavorable_neutral_favorable(app):
    label = QuestionLabel("Workload", "My workload is manageable.")
    figure = figures.favorability_figure([(label, 20.0, 30.0, 50.0)])
    assert [t["name"] for t in figure["data"]] == ["Unfavorable", "Neutral", "Favorable"]
    assert [t["x"][0] for t in figure["data"]] == [20.0, 30.0, 50.0]
    assert figure["layout"]["barmode"] == "stack"


def test_chart_axes_show_short_wrapped_labels_and_the_full_text_on_hover(app):
    label = QuestionLabel("Manager support", "My manager gives me useful feedback on my work.")
    fav = figures.favorability_figure([(label, 20.0, 30.0, 50.0)])
    assert fav["data"][0]["y"] == ["Manager support"]
    assert fav["data"][0]["customdata"] == ["My manager gives me useful feedback on my work."]
    assert "%{customdata}" in fav["data"][0]["hovertemplate"]
    impact = figures.impact_figure([(QuestionLabel("Psychological safety", "I can voice a contrary opinion."), -0.25)])
    assert impact["data"][0]["y"] == ["Psychological<br>safety"]
    assert impact["data"][0]["hovertext"] == ["I can voice a contrary opinion.<br>r = \u22120.25"]


def test_short_labels_are_driver_names_unless_two_questions_share_a_driver(app):
    questions = [Question(id=1, kind="likert", text="I get recognition.", driver="recognition"),
                 Question(id=2, kind="likert", text="I feel well at {company}, in body and mind.", driver="wellbeing"),
                 Question(id=3, kind="likert", text="My stress is under control most days.", driver="wellbeing"),
                 Question(id=4, kind="text", text="Anything else?")]
    labels = display.question_labels(questions, "en")
    assert labels[1] == QuestionLabel("Recognition", "I get recognition.")
    assert labels[2].full == f"I feel well at {app.config['POLSO_COMPANY_NAME']}, in body and mind."
    assert labels[2].short.endswith("…") and len(labels[2].short) <= display.SHORT_LABEL_MAX
    assert len({label.short for label in labels.values()}) == 4
    assert display.question_labels(questions[:1], "it")[1].short == "Riconoscimento"


def test_favorability_colour_classes_cover_0_to_100_and_keep_aa_contrast():
    assert [display.favorability_class(v) for v in (0, 19.9, 20, 59, 60, 79.9, 80, 100)] == [
        "fav-1", "fav-1", "fav-2", "fav-3", "fav-4", "fav-4", "fav-5", "fav-5"]
    assert display.favorability_class(None) == ""
    css = (Path(__file__).resolve().parents[1] / "static" / "css" / "results.css").read_text()
    rules = re.findall(r"td\.(fav-\d) \{ background-color: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}", css)
    assert [r[0] for r in rules] == ["fav-1", "fav-2", "fav-3", "fav-4", "fav-5"]
    for _name, background, text in rules:
        assert _contrast(background, text) >= 4.5, (background, text)


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_company_trend_helper_matches_the_dashboard(db, closed):
    [row] = services.company_enps_trend()
    assert row.round_id == closed["round"].id and row.result.n == 27
    assert row.closes_on == closed["round"].closes_at.date() and isinstance(row.closes_on, date)


def test_demo_seed_stores_the_same_results_a_live_recount_gives(runner, db):
    assert runner.invoke(args=["demo", "seed", "--employees", "200", "--weeks", "2", "--seed", "4"]).exit_code == 0
    survey = services.enps_survey()
    for round_ in services.closed_rounds(survey):
        stored = {(r.kind, r.key): (r.parent_key, r.responses, r.shown, r.reason, r.invited, r.histograms, r.pairs,
                                 r.comments)
                  for r in db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == round_.id))}
        live = {(r["kind"], r["key"]): (r["parent_key"], r["responses"], r["shown"], r["reason"], r["invited"],
                                       r["histograms"], r["pairs"], r["comments"])
                for r in count_round(round_.id).rows(round_.id, current_trees(), survey.min_group_size)}
        assert stored == live


@pytest.fixture
def straddling(factory, db):
    """Sales (12) = 10 of Mia's team + 2 of Max's; Ops (10) = the rest of Max's team; Leads (6) above them.

    Each cut passes its own guard, but Ops and Max's team (12) differ by the 2 people in Sales.
    """
    acme = factory.department("Acme")
    sales, ops, leads = (factory.department(name, acme) for name in ("Sales", "Ops", "Leads"))
    factory.person("hr@example.com", role="hr_admin")
    director = factory.person("dir@example.com", department=leads)
    mia = factory.person("mia@example.com", department=leads, manager=director)
    max_ = factory.person("max@example.com", department=leads, manager=director)
    people = [director, mia, max_] + [factory.person(f"lead{i}@example.com", department=leads, manager=director)
                                      for i in range(3)]
    people += [factory.person(f"s{i}@example.com", department=sales, manager=mia) for i in range(10)]
    two = [factory.person(f"pair{i}@example.com", department=sales, manager=max_) for i in range(2)]
    people += two + [factory.person(f"o{i}@example.com", department=ops, manager=max_) for i in range(10)]
    survey = building.create_survey({"title": "Pulse", "cadence": "weekly", "starts_on": "2026-03-02",
                                     "questions": [{"library_key": "enps", "required": True}]}, NOW)
    round_id = tasks.tick(NOW).pulses.opened[0]
    question = survey.questions[0].id
    for person in people:
        answering.submit_response(invitations.invitation_for(person, round_id), {question: 0 if person in two else 9},
                                      NOW + timedelta(hours=1))
    round_ = db.session.get(Round, round_id)
    tasks.tick(round_.closes_at)
    return {"round": round_, "sales": sales, "ops": ops, "mia": mia, "max": max_}


def test_teams_that_straddle_departments_store_the_pair_generalised_so_no_result_singles_them_out(
        client, straddling, api_token):
    headers = api_token("hr@example.com")
    url = f"/api/v1/rounds/{straddling['round'].id}/results"
    sales = client.get(f"{url}?department_id={straddling['sales'].id}", headers=headers).get_json()
    ops = client.get(f"{url}?department_id={straddling['ops'].id}", headers=headers).get_json()
    # The two people of Max's team in Sales are a segment of two: stored as "somewhere in Acme".
    assert (sales["n"], ops["n"]) == (10, 10)
    shown = [sales, ops]
    for manager in ("mia", "max"):
        body = client.get(f"{url}?manager_id={straddling[manager].id}", headers=headers).get_json()
        assert body["suppressed"] is False and body["n"] == 10
        shown.append(body)
    # Their two answers of 0 are in no shown group but the company.
    assert all(result["enps"]["detractors"] == 0 for result in shown)
    company = client.get(url, headers=headers).get_json()
    assert company["enps"]["detractors"] == 2

    login(client, "max@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert 'id="headline-score"' in html


def test_recount_applies_todays_guard_to_rounds_closed_before_it_with_the_trees_they_closed_with(
        runner, db, straddling):
    round_id = straddling["round"].id
    # as an older version might have stored it: small groups shown
    small = db.session.execute(sa.update(RoundResult).where(RoundResult.round_id == round_id,
                                                            RoundResult.reason.in_(["below_k", "too_few_invited"]))
                               .values(shown=True, reason=None)).rowcount
    assert small > 0
    # and the organisation has changed since: Mia now reports to nobody, which must not matter
    straddling["mia"].manager_id = None
    db.session.commit()
    before = {(r.kind, r.key, r.parent_key, r.responses) for r in db.session.scalars(
        sa.select(RoundResult).where(RoundResult.round_id == round_id))}

    result = runner.invoke(args=["results", "recount"])

    assert result.exit_code == 0, result.output
    assert f"Recounted 1 closed round(s); {small} group verdict(s) changed." in result.output
    db.session.expire_all()
    rows = db.session.scalars(sa.select(RoundResult).where(RoundResult.round_id == round_id)).all()
    assert {(r.kind, r.key, r.parent_key, r.responses) for r in rows} == before  # same trees, same counts
    assert all(not r.shown for r in rows if r.responses < 5)
    assert "0 group verdict(s) changed" in runner.invoke(args=["results", "recount"]).output
