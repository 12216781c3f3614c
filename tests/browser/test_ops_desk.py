"""Operations at the desk in a real browser: a phone booking taken on a 360 px phone (nothing
overflows the page), then the car it got blocked and the booking moved to another car; the
dashboard's wide heat map scrolls inside its box on the same phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Shot, sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 780}


def page_width(page: Page) -> int:
    """How wide the page is: wider than the phone means it scrolls sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_a_phone_booking_on_a_phone_then_its_car_blocked(
    page: Page, shot: Shot, live_server: LiveServer
) -> None:
    day = live_server.arriving_day + timedelta(days=3)
    page.set_viewport_size(PHONE)
    sign_in(page, "ops@example.com")
    page.goto(f"/ops/phone?site=TST&product=drive&day={day.isoformat()}")
    expect(page.get_by_role("heading", name="Book by phone")).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    shot(page, "phone-form")
    page.locator(".slot-choice", has_text="10:00").click()
    page.get_by_label("Name").fill("Phoebe Caller")
    page.get_by_label("E-mail", exact=True).fill("phoebe@example.com")
    page.get_by_label("Phone").fill("+1 404 555 0199")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator(".alert--success")).to_contain_text("by phone")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Phoebe Caller")
    ref = re.search(r"P[A-Z0-9]{7}", heading.inner_text())
    assert ref is not None
    assert page_width(page) <= PHONE["width"]
    shot(page, "phone-booked")
    car = page.locator("#res-title + .table-wrap tbody tr", has_text="Car").locator("td").first
    car_label = car.inner_text().strip()

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/ops/fleet?site=TST")
    page.locator("#b-unit").select_option(label=car_label)
    page.locator("#b-start").fill(f"{day.isoformat()}T08:00")
    page.locator("#b-end").fill(f"{day.isoformat()}T18:00")
    page.locator("#b-reason").fill("Warning light")
    page.get_by_role("button", name="Block and move its bookings").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{car_label} is blocked")
    moved = page.locator("#moved")
    expect(moved).to_contain_text(ref.group(0))
    expect(moved).not_to_contain_text(f"→ {car_label}")
    shot(page, "moved")


def test_the_dashboard_heat_map_scrolls_inside_its_box_on_a_phone(page: Page, shot: Shot) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, "admin@example.com")
    page.goto("/dashboard")
    box = page.locator(".chart-scroll").first
    expect(box).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    inner = box.evaluate("b => [b.scrollWidth, b.clientWidth]")
    assert inner[0] > inner[1]  # the map is wider than its box, which scrolls
    shot(page, "dashboard-phone")
