"""The chart macro draws Plotly figures from our own origin under the app's CSP."""

import plotly.graph_objects as go
import pytest
from flask import render_template_string
from playwright.sync_api import expect

from tests.conftest import chart_drawn

pytestmark = pytest.mark.browser

PAGE = """{% extends "base.html" %}{% from "charts.html" import chart, chart_scripts, chart_styles %}
{% block head %}{{ chart_styles() }}{% endblock %}
{% block content %}{{ chart("c1", figure, "Scores", "Two bars.", ["Label", "Value"], [["a", 1], ["b", 3]]) }}
{% endblock %}{% block scripts %}{{ chart_scripts() }}{% endblock %}"""


def test_chart_renders_with_no_console_error_and_no_foreign_request(app, page):
    figure = go.Figure(go.Bar(x=["a", "b"], y=[1, 3])).to_dict()

    @app.route("/chart-demo")
    def chart_demo():
        return render_template_string(PAGE, figure=figure)

    page.goto("/chart-demo")
    chart_drawn(page, "c1")
    expect(page.locator("#c1 .bars path")).to_have_count(2)
    assert page.console_errors == []
    assert page.foreign_requests == []
    page.get_by_text("Show as a table").click()
    assert page.get_by_role("row").nth(2).inner_text().split() == ["b", "3"]
