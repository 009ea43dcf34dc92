"""The reward history figure, tested as data: payouts per month and cumulative paid under the eNPS trend."""

import json
import re
from datetime import date, timedelta
from html import unescape

import tasks
from dashboards.services import TrendRow, enps_surveys_by_rounds
from rewards.charts import history_figure, history_table, months_between, signed
from rewards.payout_history import MonthlyPayout
from scoring import enps
from surveys import building
from tests.dashboard_fixtures import NOW

SHOWN = enps([0, 0, 0, 0, 0, 0, 2, 3, 3, 4, 3])
TREND = [TrendRow(1, date(2026, 1, 12), SHOWN, False), TrendRow(2, date(2026, 2, 16), None, False),
         TrendRow(3, date(2026, 4, 20), SHOWN, True)]
PAYOUTS = [MonthlyPayout(date(2026, 1, 1), "Engineering", 100000), MonthlyPayout(date(2026, 1, 1), "Sales", 50000),
           MonthlyPayout(date(2026, 3, 1), "Sales", 250050)]


def figure(**kwargs):
    return history_figure(PAYOUTS, TREND, currency="EUR", digits=2, **kwargs)


def traces(fig, kind):
    return [t for t in fig["data"] if t["type"] == kind]


def test_enps_on_top_and_payouts_below_share_one_time_axis():
    fig = figure()
    (score,) = traces(fig, "scatter")[:1]
    assert (score["xaxis"], score["yaxis"]) == ("x", "y")
    assert {(t["xaxis"], t["yaxis"]) for t in traces(fig, "bar")} == {("x2", "y2")}
    assert fig["layout"]["xaxis"]["matches"] == "x2"  # zooming one row zooms the other
    assert fig["layout"]["xaxis"]["type"] == fig["layout"]["xaxis2"]["type"] == "date"
    assert fig["layout"]["yaxis"]["range"] == [-100, 100]


def test_payouts_are_stacked_per_group_per_month_in_major_units_with_empty_months_as_zero():
    fig = figure()
    bars = {t["name"]: t for t in traces(fig, "bar")}
    assert list(bars) == ["Sales", "Engineering"]  # the largest group first
    assert bars["Sales"]["x"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert bars["Sales"]["y"] == [500.0, 0.0, 2500.5]
    assert bars["Engineering"]["y"] == [1000.0, 0.0, 0.0]
    assert fig["layout"]["barmode"] == "stack"
    assert all(t["xperiod"] == "M1" for t in bars.values())


def test_cumulative_paid_is_the_running_sum_on_a_second_axis():
    fig = figure()
    cumulative = next(t for t in traces(fig, "scatter") if t["name"] == "Cumulative paid")
    assert cumulative["y"] == [1500.0, 1500.0, 4000.5]
    assert cumulative["yaxis"] == "y3" and fig["layout"]["yaxis3"]["overlaying"] == "y2"
    assert fig["layout"]["yaxis2"]["title"]["text"] == "Paid per month (EUR)"


def test_hover_text_uses_the_money_formatter():
    fig = figure(money=lambda minor: f"<{minor}>")
    sales = next(t for t in traces(fig, "bar") if t["name"] == "Sales")
    assert sales["hovertext"] == ["Sales: <50000>", "Sales: <0>", "Sales: <250050>"]


def test_hidden_enps_rounds_carry_no_number():
    score = traces(figure(), "scatter")[0]
    assert score["x"] == ["2026-01-12", "2026-02-16", "2026-04-20"]
    assert score["y"][1] is None
    assert score["error_y"]["array"][1] is None and score["error_y"]["arrayminus"][1] is None
    assert score["hovertext"][1] is None
    assert score["y"][0] == SHOWN.score
    assert score["error_y"]["array"][0] == SHOWN.ci_high - SHOWN.score
    assert score["connectgaps"] is False


def test_a_significant_change_is_marked_and_said():
    score = traces(figure(), "scatter")[0]
    assert score["marker"]["symbol"] == ["circle", "circle", "diamond"]
    assert score["hovertext"][2].endswith("· Significant change") and "Significant" not in score["hovertext"][0]


def test_labels_can_be_translated():
    fig = figure(text={"enps": "eNPS aziendale", "cumulative": "Pagato in totale"})
    assert traces(fig, "scatter")[0]["name"] == "eNPS aziendale"
    assert traces(fig, "scatter")[1]["name"] == "Pagato in totale"


def test_an_empty_history_is_an_empty_state_not_an_axis_in_the_year_2000():
    fig = history_figure([], [], currency="JPY", digits=0, text={"empty": "Nothing yet"})
    assert fig["data"] == []
    assert fig["layout"]["xaxis"]["visible"] is False and fig["layout"]["yaxis"]["visible"] is False
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["Nothing yet"]


def test_a_single_round_without_payouts_gets_a_three_month_axis_ticking_in_months():
    fig = history_figure([], TREND[:1], currency="EUR", digits=2)
    axis = fig["layout"]["xaxis"]
    assert axis["type"] == "date" and axis["dtick"] == "M1" and axis["tickformat"] == "%b %Y"
    assert axis["range"] == ["2025-11-28", "2026-02-26"]  # 45 days either side of 12 Jan 2026
    score = traces(fig, "scatter")[0]
    assert score["y"] == [SHOWN.score] and score["error_y"]["array"] == [SHOWN.ci_high - SHOWN.score]


def test_a_long_history_keeps_plotlys_own_range():
    assert "range" not in figure()["layout"]["xaxis"]


def test_negative_scores_are_written_with_the_minus_sign():
    low = enps([4, 3, 0, 0, 0, 0, 0, 2, 0, 0, 1])
    fig = history_figure([], [TrendRow(1, date(2026, 1, 12), low, False)], currency="EUR", digits=2)
    hover = traces(fig, "scatter")[0]["hovertext"][0]
    assert hover.startswith(f"\u2212{abs(low.score):.0f} (") and "-" not in hover
    assert signed(-15.2) == "\u221215" and signed(0) == "+0" and signed(12.6) == "+13"


def test_months_between_spans_year_ends():
    assert months_between(date(2025, 11, 15), date(2026, 2, 1)) == [
        date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_the_table_beside_the_figure_has_every_month_with_running_totals_and_rounds():
    rows = history_table(PAYOUTS, TREND)
    assert [(r.month, r.paid_minor, r.cumulative_minor, [t.round_id for t in r.rounds]) for r in rows] == [
        (date(2026, 1, 1), 150000, 150000, [1]), (date(2026, 2, 1), 0, 150000, [2]),
        (date(2026, 3, 1), 250050, 400050, []), (date(2026, 4, 1), 0, 400050, [3])]


def _history_figure(client, query: str = "") -> dict:
    html = client.get(f"/rewards/history{query}").get_data(as_text=True)
    return json.loads(unescape(re.search(r'id="payouts-chart"[^>]*data-figure="([^"]*)"', html).group(1)))


def test_the_history_follows_the_survey_with_most_closed_rounds_and_offers_the_others(client, auth, db, closed):
    pulse = closed["survey"]
    tasks.tick(NOW + timedelta(days=7))  # Pulse's second weekly round, and the newer survey's only one, open
    newer = building.create_survey({"title": "Newer", "cadence": "once", "starts_on": "2026-03-09",
                                    "questions": [{"library_key": "enps", "required": True}]}, NOW + timedelta(days=6))
    tasks.tick(NOW + timedelta(days=7))
    tasks.tick(NOW + timedelta(days=30))  # both close
    assert [(s.title, n) for s, n in enps_surveys_by_rounds()] == [("Pulse", 2), ("Newer", 1)]
    auth.login("hr@example.com")

    html = client.get("/rewards/history").get_data(as_text=True)
    assert re.search(rf'<option selected value="{pulse.id}">Pulse \(2 rounds\)</option>', html)
    assert f'<option value="{newer.id}">Newer (1 round)</option>' in html
    assert len(traces(_history_figure(client), "scatter")[0]["x"]) == 2

    chosen = traces(_history_figure(client, f"?survey={newer.id}"), "scatter")[0]
    assert len(chosen["x"]) == 1 and chosen["y"] == [None]  # nobody answered: hidden, no number
    assert traces(_history_figure(client, "?survey=nonsense"), "scatter")[0]["x"] == traces(
        _history_figure(client), "scatter")[0]["x"]


def test_an_empty_history_page_says_what_will_appear_and_draws_no_chart(client, auth, org):
    auth.login("hr@example.com")
    html = client.get("/rewards/history").get_data(as_text=True)
    assert 'id="history-empty"' in html and "data-figure" not in html
    assert "2000" not in html
