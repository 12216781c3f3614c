"""Plotly, served from the installed wheel through the asset pipeline, draws a chart under the
strict Content-Security-Policy (the page fixture fails the test on any console error)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shot, sign_in

pytestmark = pytest.mark.browser


def test_plotly_chart_draws_under_the_csp(page: Page, shot: Shot) -> None:
    sign_in(page, "admin@example.com")  # the test page declares a rule, as every page must
    page.goto("/__test/chart")
    chart = page.get_by_role("img", name="Drivers per month")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart.locator(".bars path")).to_have_count(3)
    shot(page, "chart")
