"""A guest books, reads the confirmation mail from the local SMTP server (aiosmtpd), then
finds the booking again by e-mail and opens it from the link the mail gives, in a browser."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from paddock.mail import sender
from paddock.mail.devserver import DevServer
from paddock.mail.render import MailContext
from paddock.mail.smtp import SmtpConfig
from paddock.outbox import RetryPolicy
from tests.browser.conftest import LiveServer, Shot
from tests.browser.test_guest import open_first_free_day

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp() -> Iterator[DevServer]:
    with DevServer() as server:
        yield server


def send_outbox(live_server: LiveServer, smtp: DevServer) -> None:
    """What the server's mail job does, once, towards the local SMTP server."""
    mail = sender.MailSettings(
        SmtpConfig(host=smtp.host, port=smtp.port, allow_private=True),
        MailContext(live_server.url, "Paddock <bookings@paddock.example>", "secret"),
        RetryPolicy(max_attempts=3),
    )
    with live_server.session() as session:
        sender.send_due(session, mail, batch=500)


def text_of(smtp: DevServer, email: str, subject: str) -> str:
    [mail] = [m for m in smtp.inbox.to(email) if subject in str(m["Subject"])]
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_guest_books_reads_the_mail_and_finds_the_booking_again(
    page: Page, shot: Shot, live_server: LiveServer, smtp: DevServer
) -> None:
    email = f"mail-{secrets.token_hex(4)}@example.com"
    page.goto("/")
    page.get_by_role("link", name="Choose a date for 911 Carrera S driving experience").click()
    open_first_free_day(page)
    page.locator("button.slot").first.click()
    page.get_by_label("Full name").fill("Mary Mail")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label(re.compile("I accept the booking terms")).check()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    ref = page.locator(".summary .ref").inner_text().strip()
    manage_path = page.url.removeprefix(live_server.url)

    send_outbox(live_server, smtp)
    [confirmation] = [m for m in smtp.inbox.to(email) if ref in str(m["Subject"])]
    assert "confirmed" in str(confirmation["Subject"])
    calendars = [
        p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert len(calendars) == 1 and f"UID:{ref}" in calendars[0].get_content()
    assert confirmation.get_body(("html",)) is not None
    assert f"{live_server.url}{manage_path}" in text_of(smtp, email, ref)

    # Lost the link: "Find my booking" from the home page, by e-mail.
    page.goto("/")
    page.get_by_role("link", name="Already booked? Find my booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find my booking")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_role("button", name="Send me my bookings").click()
    expect(page.locator(".alert--success")).to_contain_text("on its way")
    shot(page, "find-sent")

    send_outbox(live_server, smtp)
    found = text_of(smtp, email, "Your Paddock bookings")
    links = re.findall(rf"{re.escape(live_server.url)}(/b/\S+)", found)
    assert links == [manage_path]
    page.goto(links[0])
    expect(page.locator(".summary .ref")).to_have_text(ref)
    shot(page, "found-booking")
