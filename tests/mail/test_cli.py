"""`paddock mail outbox | send | replay | reminders` against a local SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import Result
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.mail.devserver import DevServer
from paddock.mail.models import MailMessage, MailStatus
from paddock.settings import get_settings
from tests.factories import make_world
from tests.mail.helpers import book, messages


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


def test_outbox_send_and_replay(database_url: str, session: Session, server: DevServer) -> None:
    make_world(session, cars=1, coaches=1)
    book(session)
    env = {
        "PADDOCK_DATABASE_URL": database_url,
        "PADDOCK_SMTP_HOST": server.host,
        "PADDOCK_SMTP_PORT": str(server.port),
        "PADDOCK_SMTP_SECURITY": "none",
        "PADDOCK_SMTP_ALLOW_PRIVATE": "1",
        "COLUMNS": "200",
    }

    def run(*args: str, **extra: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args), env=env | extra)
        finally:
            get_settings.cache_clear()

    listed = run("mail", "outbox")
    assert listed.exit_code == 0 and "booking_confirmed" in listed.output
    assert "pending" in listed.output
    sent = run("mail", "send")
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.output and len(server.inbox.messages) == 1
    assert "delivered" in run("mail", "outbox").output

    session.execute(update(MailMessage).values(status=MailStatus.DEAD))
    session.commit()
    assert "dead" in run("mail", "outbox", "--status", "dead").output
    replayed = run("mail", "replay", "--all-dead")
    assert replayed.exit_code == 0 and "1 message(s)" in replayed.output
    assert messages(session)[0].status == MailStatus.PENDING
    assert "1 sent" in run("mail", "send").output
    assert len(server.inbox.messages) == 2

    missing = run("mail", "replay", "99")
    assert missing.exit_code != 0
    unknown = run("mail", "outbox", "--status", "lost")
    assert unknown.exit_code != 0
    nothing = run("mail", "send", PADDOCK_SMTP_HOST="")
    assert nothing.exit_code == 1 and "PADDOCK_SMTP_HOST" in nothing.output
    assert run("mail", "reminders").exit_code == 0
