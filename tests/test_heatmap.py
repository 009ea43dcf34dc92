"""The heatmap: groups × (eNPS, driver favorability), coloured by the difference from the company.

On the ``closed`` round of tests/dashboard_fixtures.py: 27 answers; Big 12 (all eNPS 9), Tiny 3 (all 0,
hidden: too few invited), Child 10 (all 8; Parent holds the same ten); the workload question is 4
everywhere but Tiny (1). Company eNPS = 100 × (12 − 3) / 27, workload favorable 24 / 27.
"""

import csv
import io
import json
import re

import openpyxl
import pytest

from dashboards import heatmap
from scoring import benjamini_hochberg, compare, compare_favorability, enps, holm
from tests.conftest import axe_violations, chart_drawn

COMPANY_ENPS = 100 * (12 - 3) / 27
COMPANY_FAVORABLE = 100 * 24 / 27


def reason(code, k):
    return f"Hidden ({code}), k = {k}"


def hm_for(app, closed, viewer, kinds=("department",)):
    with app.test_request_context():
        return heatmap.heatmap(closed["survey"], closed["round"], viewer, "en", kinds)


def rows_by_name(hm):
    return {row.name: row for row in hm.rows}


def digits_outside_k(text: str, k: int) -> list[str]:
    """Every number in ``text`` other than the survey's k (which the hidden reason names)."""
    return [d for d in re.findall(r"\d+(?:[.,]\d+)?", text) if d != str(k)]


# --- Data on known counts -----------------------------------------------------------------


def test_cells_hold_each_groups_value_and_its_difference_from_the_company(app, closed, org):
    hm = hm_for(app, closed, org["hr"])
    assert [c.id for c in hm.columns] == ["enps", f"q{closed['q']['likert']}"]
    assert hm.company["enps"] == pytest.approx(COMPANY_ENPS)
    assert hm.company[f"q{closed['q']['likert']}"] == pytest.approx(COMPANY_FAVORABLE)
    rows = rows_by_name(hm)
    # One top department (Acme) is the company itself: it is not a row.
    assert set(rows) == {"Big", "Tiny", "Parent", "Parent / Child"}
    big_enps, big_fav = rows["Big"].cells
    assert (big_enps.suppressed, big_enps.value) == (False, 100.0)
    assert big_enps.delta == pytest.approx(100 - COMPANY_ENPS)
    assert big_fav.value == 100.0 and big_fav.delta == pytest.approx(100 - COMPANY_FAVORABLE)
    child_enps = rows["Parent / Child"].cells[0]
    assert child_enps.value == 0.0 and child_enps.delta == pytest.approx(-COMPANY_ENPS)


def test_each_cell_is_tested_against_the_rest_of_the_company(app, closed, org):
    rows = rows_by_name(hm_for(app, closed, org["hr"]))
    # Big as stored holds eleven 9s (its head's answer is a segment of one, stored as "somewhere in Acme");
    # the rest of the company: Tiny's three 0s, Parent's two 7s, Child's ten 8s and that one 9.
    rest = [3, 0, 0, 0, 0, 0, 0, 2, 10, 1, 0]
    big = [0] * 9 + [11, 0]
    assert rows["Big"].cells[0].p_value == pytest.approx(compare(enps(rest), enps(big)).p_value)
    # Workload for Child: 10 of 10 favorable against 14 of 17 (Tiny's three answered 1).
    expected = compare_favorability([3, 0, 0, 14, 0], [0, 0, 0, 10, 0]).p_value
    assert rows["Parent / Child"].cells[1].p_value == pytest.approx(expected)


def test_hidden_groups_carry_only_the_guards_reason(app, closed, org):
    tiny = rows_by_name(hm_for(app, closed, org["hr"]))["Tiny"]
    for cell in tiny.cells:
        assert cell.suppressed and cell.reason == "too_few_invited"
        assert (cell.value, cell.delta, cell.p_value, cell.significant) == (None, None, None, False)


def test_hr_can_ask_for_teams(app, closed, org):
    hm = hm_for(app, closed, org["hr"], kinds=("manager",))
    assert {row.kind for row in hm.rows} == {"manager"}
    assert {row.name for row in hm.rows} == {"Team of Bea Boss", "Team of Tim Tiny"}


def test_a_manager_sees_only_the_teams_of_their_own_organisation(app, closed, org):
    boss = hm_for(app, closed, org["boss"], kinds=("department", "manager"))
    assert [(row.kind, row.name) for row in boss.rows] == [("manager", "Team of Bea Boss"),
                                                            ("manager", "Team of Tim Tiny")]
    tiny_boss = hm_for(app, closed, org["tiny_boss"])
    assert [row.name for row in tiny_boss.rows] == ["Team of Tim Tiny"]
    assert all(cell.suppressed for cell in tiny_boss.rows[0].cells)


# --- The multiple-comparison correction ---------------------------------------------------


def test_significance_is_benjamini_hochberg_over_every_shown_cell(app, closed, org):
    hm = hm_for(app, closed, org["hr"])
    cells = [cell for row in hm.rows for cell in row.cells]
    p_values = [None if c.suppressed else c.p_value for c in cells]
    assert [c.significant for c in cells] == benjamini_hochberg(p_values)
    # A known case where the correction matters: Child's eNPS (p about 0.024, one of six tests) stays
    # significant under Benjamini-Hochberg (0.024 <= 3 × 0.05 / 6) but would not under Holm (> 0.05 / 5).
    child = rows_by_name(hm)["Parent / Child"].cells[0]
    assert 0.0125 < child.p_value < 0.025 and child.significant
    index = cells.index(child)
    assert holm(p_values)[index] is False


def test_cells_significant_alone_are_not_marked_when_read_together():
    def cell(p):
        return heatmap.HeatCell("enps", False, None, 10.0, 5.0, p)

    rows = [heatmap.HeatRow("department", 1, "A", [cell(0.01), cell(0.04)]),
            heatmap.HeatRow("department", 2, "B", [cell(0.03), cell(0.2)]),
            heatmap.HeatRow("department", 3, "C", [heatmap.HeatCell("enps", True, "below_k")] * 2)]
    marked = [[c.significant for c in row.cells] for row in heatmap._adjust(rows)]
    # m = 4 (hidden cells do not count): 0.01 <= 0.05/4; then 0.03 > 2×0.05/4 and 0.04 > 3×0.05/4.
    assert marked == [[True, False], [False, False], [False, False]]


# --- The figure (pure) ----------------------------------------------------------------------


def known_figure():
    columns = [("eNPS", "eNPS"), ("Workload", "My workload is manageable")]
    rows = [heatmap.FigureRow("Big", [heatmap.FigureCell("+100", 66.7, True), heatmap.FigureCell("100 %", 11.1)]),
            heatmap.FigureRow("Tiny", [heatmap.FigureCell(hidden="Hidden: fewer than 5 people in this group.")] * 2),
            heatmap.FigureRow("Child", [heatmap.FigureCell("+0", -33.3), heatmap.FigureCell("100 %", None)])]
    return heatmap.heatmap_figure(columns, rows)


def test_figure_draws_values_coloured_by_difference_and_marks_significance(app):
    with app.test_request_context():
        fig = known_figure()
    cells = fig["data"][0]
    assert cells["type"] == "heatmap"
    assert [list(r) for r in cells["z"]] == [[30, 11.1], [None, None], [-30, None]]  # clipped to ±30
    assert [list(r) for r in cells["text"]] == [["+100", "100 %"], ["", ""], ["+0", "100 %"]]
    assert list(fig["layout"]["yaxis"]["ticktext"]) == ["Big", "Tiny", "Child"]
    marks = fig["data"][1]
    assert list(marks["x"]) == [pytest.approx(0.36)] and list(marks["y"]) == [pytest.approx(-0.28)]
    # each hidden cell: a frame and five hatch lines
    shapes = fig["layout"]["shapes"]
    assert len(shapes) == 2 * 6
    assert [(s["x0"], s["y0"]) for s in shapes if s["type"] == "rect"] == [(-0.48, pytest.approx(0.54)),
                                                                           (pytest.approx(0.52), pytest.approx(0.54))]


def test_hidden_cells_carry_no_number_anywhere_in_the_figure(app):
    with app.test_request_context():
        fig = known_figure()
    cells = fig["data"][0]
    for i in range(2):
        assert cells["z"][1][i] is None and cells["text"][1][i] == ""
        assert digits_outside_k(cells["hovertext"][1][i], 5) == []
        assert "fewer than 5 people" in cells["hovertext"][1][i]


def test_figure_of_the_round_has_no_number_of_the_hidden_group(app, closed, org):
    hm = hm_for(app, closed, org["hr"])
    with app.test_request_context():
        rows = heatmap.figure_rows(hm, reason)
        fig = heatmap.heatmap_figure([(c.short, c.full) for c in hm.columns], rows)
    tiny = [row.name for row in hm.rows].index("Tiny")
    cells = fig["data"][0]
    assert list(cells["z"][tiny]) == [None, None] and list(cells["text"][tiny]) == ["", ""]
    assert all(digits_outside_k(text, hm.k) == [] for text in cells["hovertext"][tiny])
    json.dumps(fig)  # plain data


# --- Page, exports, API ---------------------------------------------------------------------


def test_page_shows_table_with_reasons_and_no_number_for_hidden_cells(client, auth, closed, org):
    auth.login("hr@example.com")
    response = client.get(f"/results/heatmap?survey={closed['survey'].id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="chart-heatmap"' in html and 'role="group"' in html and 'tabindex="0"' in html
    table = html[html.index('id="heatmap-table"'):]
    tiny = re.search(r"<th scope=\"row\">Tiny\s.*?</th>(.*?)</tr>", table, re.S).group(1)
    assert "fewer than 5 people" in tiny
    assert digits_outside_k(re.sub(r"<[^>]+>", " ", tiny), 5) == []
    big_row = re.search(r"<th scope=\"row\">Big\s(.*?)</th>(.*?)</tr>", table, re.S)
    big = big_row.group(2)
    assert "+100" in big and "significant difference" in big
    # Each row plans an action for its group, from here.
    plan = re.search(r'href="([^"]+)"', big_row.group(1)).group(1).replace("&amp;", "&")
    assert plan.startswith("/actions/new?") and f"survey={closed['survey'].id}" in plan and "department=" in plan
    assert "TINY-SECRET-COMMENT" not in html


def test_results_page_links_to_the_heatmap(client, auth, closed):
    auth.login("hr@example.com")
    html = client.get("/results").get_data(as_text=True)
    assert f'/results/heatmap?survey={closed["survey"].id}' in html


def test_csv_holds_exactly_the_cells_shown(client, auth, closed, org):
    auth.login("hr@example.com")
    response = client.get(f"/results/heatmap/export.csv?survey={closed['survey'].id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(records) == 4 * 2  # Big, Tiny, Parent, Child × (eNPS, workload)
    for record in records:
        if record["Group"] == "Tiny":
            assert record["Status"] == "Hidden: fewer than 5 people in this group."
            assert record["eNPS or favorable (%)"] == record["Difference from the company"] == ""
            assert record["Significant difference (after correction)"] == ""
    big = next(r for r in records if r["Group"] == "Big" and r["Column"] == "eNPS")
    assert (big["eNPS or favorable (%)"], big["Difference from the company"]) == ("100.0", "66.7")


def test_xlsx_holds_the_same_cells(client, auth, closed):
    auth.login("hr@example.com")
    response = client.get(f"/results/heatmap/export.xlsx?survey={closed['survey'].id}&groups=teams")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[2] == "Group" and header[5] == "eNPS or favorable (%)"
    tiny = [r for r in rows if r[2] == "Team of Tim Tiny"]
    assert len(tiny) == 2 and all(r[5] is None and r[6] is None and r[7] is None for r in tiny)
    assert {r[2] for r in rows} == {"Team of Bea Boss", "Team of Tim Tiny"}


def test_api_answers_per_the_contract_and_suppressed_cells_carry_no_value(client, closed, org, api_token):
    survey, round_ = closed["survey"], closed["round"]
    body = client.get(f"/api/v1/surveys/{survey.id}/heatmap?round_id={round_.id}",
                      headers=api_token("hr@example.com")).get_json()
    assert [c["id"] for c in body["columns"]] == ["enps", f"q{closed['q']['likert']}"]
    rows = {row["group"]["name"]: row for row in body["rows"]}
    assert rows["Big"]["group"] == {"kind": "department", "id": org["big"].id, "name": "Big"}
    for cell in rows["Tiny"]["cells"]:
        assert cell == {"column": cell["column"], "suppressed": True, "reason": "too_few_invited"}
    big = rows["Big"]["cells"][0]
    assert big["value"] == 100.0 and big["significant"] is True and big["suppressed"] is False


def test_api_for_a_manager_lists_only_their_teams(client, closed, org, api_token):
    body = client.get(f"/api/v1/surveys/{closed['survey'].id}/heatmap",
                      headers=api_token("tinyboss@example.com")).get_json()
    assert [row["group"]["name"] for row in body["rows"]] == ["Team of Tim Tiny"]
    assert all("value" not in cell for cell in body["rows"][0]["cells"])


def test_an_employee_gets_403_everywhere(client, auth, closed, api_token):
    survey_id = closed["survey"].id
    headers = api_token("big0@example.com")
    assert client.get(f"/api/v1/surveys/{survey_id}/heatmap", headers=headers).status_code == 403
    auth.login("big0@example.com")
    assert client.get(f"/results/heatmap?survey={survey_id}").status_code == 403
    assert client.get(f"/results/heatmap/export.csv?survey={survey_id}").status_code == 403


def test_a_manager_page_shows_no_department(client, auth, closed):
    auth.login("boss@example.com")
    html = client.get(f"/results/heatmap?survey={closed['survey'].id}&groups=departments").get_data(as_text=True)
    assert "Team of Tim Tiny" in html and '<th scope="row">Big</th>' not in html
    assert 'id="h-groups"' not in html


# --- In Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_page_passes_axe_and_fits_the_screen(page, closed, viewport):
    page.set_viewport_size(viewport)
    page.goto("/login")
    page.get_by_label("E-mail").fill("hr@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"/results/heatmap?survey={closed['survey'].id}")
    chart_drawn(page, "chart-heatmap")
    assert page.locator("#chart-heatmap .hm").count() >= 1 or page.locator("#chart-heatmap image").count() >= 1
    assert axe_violations(page) == []
    if viewport["width"] < 500:  # a phone: the page, chart and table included, does not scroll sideways
        page.wait_for_function("w => document.documentElement.scrollWidth <= w", arg=viewport["width"],
                               timeout=5000)
    page.locator("#chart-heatmap").focus()
    assert page.evaluate("document.activeElement.id") == "chart-heatmap"
    page.keyboard.press("ArrowDown")  # the first key lands on the first cell: Big's eNPS
    assert page.locator("#heatmap-live").inner_text().startswith("Big, eNPS, +100")
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # to the last row, Tiny: the reason, no number
    page.keyboard.press("End")
    tiny = page.locator("#heatmap-live").inner_text()
    assert tiny.startswith("Tiny, ") and tiny.endswith("Hidden: fewer than 5 people in this group.")
    assert digits_outside_k(tiny, 5) == []
    assert page.console_errors == [] and page.foreign_requests == []
