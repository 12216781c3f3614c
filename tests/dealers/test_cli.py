"""`paddock users|tokens|dealers|campaigns|invitations` against a migrated database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.accounts import service as accounts
from paddock.accounts.models import ApiToken, User
from paddock.db import make_engine, make_session_factory
from paddock.dealers.models import Invitee
from paddock.settings import get_settings
from tests.dealers.conftest import make_dealer_world
from tests.factories import MONDAY

Run = Callable[..., Result]


@pytest.fixture
def run(sqlite_url: str) -> Iterator[Run]:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        get_settings.cache_clear()  # settings are read once per process
        try:
            return runner.invoke(
                cli.app,
                list(args),
                input=input,
                env={"PADDOCK_DATABASE_URL": sqlite_url, "COLUMNS": "200"},
            )
        finally:
            get_settings.cache_clear()

    yield invoke


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def test_users_and_tokens(run: Run, session: Session) -> None:
    make_dealer_world(session)
    created = run(
        "users",
        "create",
        "--email",
        "Staff@North.example",
        "--role",
        "dealer",
        "--dealer",
        "d-nyc-001",
        "--password-stdin",
        input="correct horse battery\n",
    )
    assert created.exit_code == 0, created.output
    user = session.scalar(select(User).where(User.email == "staff@north.example"))
    assert user is not None and user.dealer_id is not None
    assert accounts.authenticate(
        session, email="staff@north.example", password="correct horse battery"
    )
    short = run(
        "users",
        "create",
        "--email",
        "x@example.com",
        "--role",
        "admin",
        "--password-stdin",
        input="short\n",
    )
    assert short.exit_code != 0
    listed = run("users", "list", "--dealer", "D-NYC-001")
    assert "staff@north.example" in listed.output
    token = run("tokens", "create", "--dealer", "D-NYC-001", "--name", "DMS sync")
    assert token.exit_code == 0, token.output
    secret = next(w for w in token.output.split() if w.startswith("pdk_"))
    assert accounts.token_principal(session, secret=secret) is not None
    token_id = session.scalar(select(ApiToken.id))
    session.rollback()  # end this session's read snapshot
    assert run("tokens", "revoke", str(token_id)).exit_code == 0
    assert accounts.token_principal(session, secret=secret) is None


def test_dealers_campaigns_and_import(run: Run, session: Session, tmp_path: Path) -> None:
    make_dealer_world(session)
    listed = run("dealers", "list", "--region", "Northeast")
    assert "D-NYC-001" in listed.output and "D-ATL-002" not in listed.output
    made = run(
        "campaigns",
        "create",
        "--dealer",
        "D-ATL-002",
        "--name",
        "Peach drive",
        "--products",
        "drive",
        "--from",
        str(MONDAY),
        "--to",
        str(MONDAY + timedelta(days=9)),
        "--code",
        "peach-drive-k47",
        "--max-uses",
        "10",
    )
    assert made.exit_code == 0, made.output
    assert "PEACH-DRIVE-K47" in made.output
    csv = tmp_path / "invitees.csv"
    csv.write_text("name,email\nAnn Lee,ann@example.com\n,bad\n")
    dry = run("invitations", "import", str(csv), "--campaign", "2")
    assert dry.exit_code == 0 and "dry run: 1 row(s) would be imported, 1 rejected" in dry.output
    refused = run("invitations", "import", str(csv), "--campaign", "2", "--commit")
    assert refused.exit_code == 1 and "name is missing" in refused.output
    session.rollback()
    assert session.scalar(select(Invitee.id)) is None
    done = run("invitations", "import", str(csv), "--campaign", "2", "--commit", "--accept-partial")
    assert done.exit_code == 0 and "imported 1 invitee(s)" in done.output
    shown = run("invitations", "show", "peach-drive-k47")
    assert "usable" in shown.output and "Peach State Cars" in shown.output
    allot = run(
        "dealers", "allot", "D-ATL-002", "--places", "7", "--month", "2031-06", "--site", "TST"
    )
    assert allot.exit_code == 0 and "7 place(s)" in allot.output
