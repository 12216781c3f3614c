"""A guest books an experience and cancels it, in a real browser."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Shot

pytestmark = pytest.mark.browser


def open_first_free_day(page: Page) -> None:
    """Click the first day with free times, moving to the next month if this one has none."""
    for _ in range(3):
        days = page.locator(".day--open a")
        if days.count():
            days.first.click()
            expect(page.locator(".times__list")).to_be_visible()
            return
        page.get_by_role("link", name=re.compile("^Next month")).click()
        expect(page.locator("#month-title")).to_be_visible()
    raise AssertionError("no free day in three months")


def test_guest_books_and_cancels(page: Page, shot: Shot, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Drive the whole range")
    page.get_by_role("link", name="Choose a date for 911 Carrera S driving experience").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("911 Carrera S driving experience")
    # The cancellation policy is shown before booking.
    expect(page.locator("[data-policy]")).to_contain_text("Free cancellation up to 3 days")
    open_first_free_day(page)
    shot(page, "calendar")
    # A day past the policy's deadline (3 days), so that the guest may cancel online below.
    later = date.today() + timedelta(days=6)
    page.goto(f"/book/atl-911-carrera-s?month={later:%Y-%m}&day={later.isoformat()}")
    expect(page.locator(".times__list")).to_be_visible()

    # Choosing a time holds it; the details page shows the hold and its countdown.
    chosen = page.locator("button.slot").first
    chosen_time = chosen.locator(".slot__time").inner_text()
    chosen.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.locator("[data-countdown-text]")).to_contain_text("left")
    expect(page.locator(".summary")).to_contain_text(chosen_time)

    # A bad e-mail is refused next to its field, and what was typed is kept.
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("E-mail", exact=True).fill("ada-at-example")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
    shot(page, "details-error")

    page.get_by_label("E-mail", exact=True).fill("ada@example.com")
    page.get_by_label("Phone").fill("+1 404 555 0199")
    expect(page.locator(".summary [data-policy]")).to_contain_text("Free cancellation until")
    page.get_by_label(re.compile("I accept the booking terms")).check()
    page.get_by_label(re.compile("Send me news")).check()
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.locator(".alert--success")).to_contain_text("confirmed")
    expect(page.locator(".callout")).to_contain_text("arrive 30 minutes early")
    qr = page.get_by_role("img", name=re.compile("QR code for checking in"))
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0
    ref = page.locator(".summary .ref").inner_text().strip()
    assert re.fullmatch(r"P[A-Z2-9]{7}", ref)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    calendar = download_info.value.path().read_text()
    assert f"UID:{ref}" in calendar and "TZID=America/New_York" in calendar
    shot(page, "confirmed")

    page.get_by_role("link", name="Cancel booking").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Cancel booking {ref}?")
    page.get_by_label("Reason").fill("Plans changed")
    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This booking is cancelled")
    expect(page.locator(".alert--success")).to_contain_text(f"{ref} is cancelled")
    expect(page.get_by_role("link", name="Cancel booking")).to_have_count(0)


def test_guest_calendar_on_a_phone(page: Page, shot: Shot) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/book/atl-simulator-30")
    open_first_free_day(page)
    # The month and the times stack; nothing scrolls sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "phone")
