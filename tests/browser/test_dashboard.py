"""The management dashboard draws its four charts (Plotly, served locally) under the strict
Content-Security-Policy, in a real browser; a console error fails the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shot, sign_in

pytestmark = pytest.mark.browser


def test_the_dashboard_draws_its_charts(page: Page, shot: Shot) -> None:
    sign_in(page, "admin@example.com")
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Will we reach 20,000 drivers")
    for name in (
        "Circuit visits per month, cumulative visits",
        "Share of test drives from dealers",
        "Conversion funnel of dealer invitations",
        "Heat map of utilisation per resource pool and hour of day",
    ):
        chart = page.get_by_role("img", name=re.compile("^" + re.escape(name)))
        expect(chart.locator(".main-svg").first).to_be_visible()
    expect(page.locator(".kpi").first).to_contain_text("Drivers on the circuit")
    page.get_by_label("Site", exact=True).select_option("ATL")
    expect(page).to_have_url(re.compile(r"site=ATL"))
    expect(page.locator(".report-head__meta")).to_contain_text("Site ATL")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(page, "dashboard")
