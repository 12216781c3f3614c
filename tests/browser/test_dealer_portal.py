"""A dealer creates a campaign and a code in the portal; a guest books with that code; the
booking shows in the portal as the dealer's, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, Shot, sign_in
from tests.browser.test_guest import open_first_free_day

pytestmark = pytest.mark.browser
CODE = "BROWSER-DRIVE-K47"


def test_a_dealer_creates_a_code_that_a_guest_uses(
    page: Page, browser: Browser, shot: Shot, live_server: LiveServer
) -> None:
    page.goto("/dealer")
    expect(page).to_have_url(re.compile(r"/login\?next=/dealer$"))
    sign_in(page, "dealer@example.com")
    expect(page).to_have_url(re.compile(r"/dealer$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Porsche Atlanta")
    expect(
        page.get_by_role("img", name="Test-drive places used and left per month")
        .locator(".main-svg")
        .first
    ).to_be_visible()
    shot(page, "overview")

    # A new campaign for the Carrera S, then a single-use code in it.
    page.get_by_role("link", name="Campaigns & codes").click()
    page.get_by_label("Campaign name").fill("Browser test drive")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("#products-error")).to_contain_text("Choose at least one experience")
    page.get_by_label("911 Carrera S driving experience (ATL)").check()
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator(".alert--success")).to_contain_text("Campaign “Browser test drive” created")
    page.get_by_label(re.compile(r"^Code")).fill(CODE.lower())
    page.get_by_label("Single use (one guest)").check()
    page.get_by_role("button", name="Create code").click()
    expect(page.locator(".alert--success")).to_contain_text(f"Code {CODE} created (single-use)")
    link = page.get_by_role("link", name=f"{live_server.url}/invite/{CODE}")
    expect(link).to_be_visible()
    shot(page, "code")

    # A guest (another browser, not signed in) follows the link and books.
    guest_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    guest = guest_context.new_page()
    try:
        guest.goto(f"/invite/{CODE}")
        expect(guest.get_by_role("heading", level=1)).to_contain_text("invited by Porsche Atlanta")
        guest.get_by_role("link", name="Choose a date for 911 Carrera S driving experience").click()
        open_first_free_day(guest)
        guest.locator("button.slot").first.click()
        expect(guest.get_by_role("heading", name="Your details")).to_be_visible()
        guest.get_by_label("Full name").fill("Dana Dealerguest")
        guest.get_by_label("E-mail", exact=True).fill("dana@example.com")
        guest.get_by_label(re.compile("I accept the booking terms")).check()
        guest.get_by_role("button", name="Confirm booking").click()
        expect(guest.get_by_role("heading", level=1)).to_have_text("You're booked")
        ref = guest.locator(".summary .ref").inner_text().strip()
        shot(guest, "guest-booked")
    finally:
        guest_context.close()

    # Back in the portal: the booking is the dealer's, with its campaign and code.
    page.get_by_role("link", name="Bookings & visits").click()
    row = page.locator("tr", has_text=ref)
    expect(row).to_contain_text("Dana Dealerguest")
    expect(row).to_contain_text(f"Browser test drive · {CODE}")
    expect(row.locator(".status")).to_have_text("confirmed")
    page.get_by_role("link", name="Campaigns & codes").click()
    page.get_by_role("link", name="Browser test drive").click()
    expect(page.locator("#codes tr", has_text=CODE)).to_contain_text("1 of 1")
    expect(page.locator("#codes tr", has_text=CODE)).to_contain_text("Used up")
    shot(page, "attributed")
