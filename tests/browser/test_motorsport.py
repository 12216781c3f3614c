"""The motorsport programme manager looks at the 2024 season, evaluates the demo's second-car
request (Hertz Team Jota's second WEC car) and reads its reasons, then the season's set
decision, in a real browser; the evaluation also on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shot, sign_in

pytestmark = pytest.mark.browser


def test_the_manager_evaluates_a_second_car_request(page: Page, shot: Shot) -> None:
    page.goto("/motorsport")
    expect(page).to_have_url(re.compile(r"/login\?next=/motorsport$"))
    sign_in(page, "motorsport@example.com")
    expect(page).to_have_url(re.compile(r"/motorsport$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Season 2024: can we support another car?"
    )
    heat = page.get_by_role("img", name=re.compile("^Heat map of support load"))
    expect(heat.locator(".main-svg").first).to_be_visible()
    expect(page.locator(".alert--warning")).to_contain_text("support runs short")
    expect(page.get_by_role("row", name=re.compile("Grand Prix of Long Beach"))).to_contain_text(
        "WEC Imola"
    )
    shot(page, "season")

    page.get_by_role("link", name="Evaluate Hertz Team Jota's request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Hertz Team Jota: an additional car in WEC 2024"
    )
    expect(page.locator(".verdict")).to_contain_text("Hertz Team Jota additional car, WEC 2024")
    reasons = page.get_by_role("region", name="Reasons").get_by_role("listitem")
    expect(reasons.first).to_contain_text("Shares with Hertz Team Jota's 1 existing car")
    expect(page.get_by_role("region", name="Reasons")).to_contain_text("Grid: WEC 2024")
    table = page.get_by_role("region", name="Event by event, resource by resource")
    expect(table.get_by_role("row", name=re.compile("^Imola")).first).to_be_visible()
    table.get_by_role("link", name="90 % or more").click()
    expect(page.get_by_role("link", name="90 % or more")).to_have_attribute("aria-current", "true")
    expect(page.locator("tbody tr").first).to_be_visible()
    shot(page, "evaluation")

    # The same evaluation on a phone: readable, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator(".verdict")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "evaluation-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Season decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Season 2024: which requests together?"
    )
    expect(page.locator(".facts-grid")).to_contain_text("Proven optimal")
    expect(page.get_by_role("region", name="Why the others are declined")).to_contain_text(
        "First binding constraint"
    )
    expect(page.get_by_role("radio", name="Accept").first).to_be_visible()
    shot(page, "decision")
