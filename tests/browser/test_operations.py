"""Operations staff sign in, find a guest and check them in, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from paddock.web.guest.qr import check_in_token
from tests.browser.conftest import LiveServer, Shot, sign_in

pytestmark = pytest.mark.browser


def test_operations_checks_a_guest_in(page: Page, shot: Shot, live_server: LiveServer) -> None:
    ref = live_server.arriving_ref
    page.goto("/ops")
    expect(page).to_have_url(re.compile(r"/login\?next=/ops$"))
    sign_in(page, "ops@example.com")
    expect(page).to_have_url(re.compile(r"/ops$"))
    expect(page.locator(".alert--success")).to_contain_text("Signed in")
    expect(page.locator(".tl-group").first).to_be_visible()
    shot(page, "timeline")

    # The always-open test site, on the guest's day there (the day shown stays when the site
    # changes: Atlanta's today may be another date): its timeline shows the guest's bar.
    page.get_by_label("Site").select_option("TST")
    expect(page.locator("#timeline-title")).to_have_text("Test centre")
    page.get_by_label("Day", exact=True).fill(live_server.arriving_day.isoformat())
    expect(page).to_have_url(re.compile(rf"day={live_server.arriving_day.isoformat()}"))
    bar = page.locator(f"a.bar[href='/ops/bookings/{ref}']").first
    expect(bar).to_be_visible()

    page.get_by_role("link", name="Check-in & search").click()
    search = page.get_by_label(re.compile("Reference, name, e-mail"))
    search.fill("Grace Arriving")
    expect(page.locator("#results")).to_contain_text(ref)
    shot(page, "search")
    page.locator("#results").get_by_role("link", name=ref).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
    expect(page.locator("p.status")).to_have_text("confirmed")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".alert--success")).to_contain_text(f"{ref} is checked in")
    expect(page.locator("p.status")).to_have_text("checked in")
    shot(page, "checked-in")

    # The guest's QR code leads here too, verified.
    token = check_in_token(live_server.settings.secret_key, ref)
    page.goto(f"/ops/scan/{token}")
    expect(page.locator(".alert--success")).to_contain_text("Check-in code verified")
    expect(page.get_by_role("button", name="Check in")).to_have_count(0)

    page.get_by_role("link", name="Fleet & closures").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fleet & closures")
    expect(page.get_by_role("heading", name="Block a unit")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing overflows
    shot(page, "fleet")


def test_coach_sees_the_console_read_only(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "coach@example.com")
    expect(page).to_have_url(re.compile(r"/ops$"))
    page.goto(f"/ops/bookings/{live_server.arriving_ref}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(live_server.arriving_ref)
    expect(page.get_by_role("button", name="Check in")).to_have_count(0)
    expect(page.get_by_role("button", name="Swap")).to_have_count(0)
