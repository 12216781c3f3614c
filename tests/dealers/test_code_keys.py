"""Invitation codes are one code however they are typed (dashes, spaces, case, look-alike
characters) at every entry point — the service, the guest API, the guest page, the CLI —
and a campaign refuses a code that reads like one it has (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.bookings import service as bookings
from paddock.dealers import service
from paddock.dealers.codes import CODE_ALPHABET, code_key, new_code, normalize_code
from paddock.dealers.models import InvitationCode
from paddock.errors import Conflict
from paddock.settings import get_settings
from tests.dealers.conftest import STAFF, make_dealer_world, scope_of
from tests.factories import MONDAY, at


def test_one_key_for_every_typing() -> None:
    typed = [
        "CN8T-DMUH-94YP",
        "cn8t dmuh 94yp",
        "cn8tdmuh94yp",
        " Cn8t-dmuh 94YP ",
        "cn8t.dmuh.94yp",
    ]
    assert {code_key(t) for t in typed} == {"CN8TDMUH94YP"}
    # Look-alikes the generated alphabet leaves out read as one: O as 0, I and L as 1.
    assert code_key("SPRING-2O26") == code_key("spr1ng 2026") == code_key("SPRLNG2026")
    assert normalize_code(" spring 2026/k47 ") == "SPRING2026K47"
    assert not set("01IO") & set(CODE_ALPHABET)
    fresh = new_code()
    assert code_key(fresh) == fresh.replace("-", "").replace("L", "1")


def test_a_personal_code_typed_with_spaces_is_found_and_books(session: Session) -> None:
    dw = make_dealer_world(session)
    row = service.add_invitee(
        session,
        scope=scope_of(dw.north),
        campaign_id=dw.campaign.id,
        name="Ann Lee",
        email="ann@example.com",
    )
    typed = row.code.lower().replace("-", " ")  # "cn8t dmuh 94yp", as read over the phone
    found = service.get_invitation(session, code=typed, now=at(MONDAY, 7))
    assert found.code == row.code and found.invitee_name == "Ann Lee"
    assert found.invitee_email == "ann@example.com"
    booked = service.book_with_code(
        session,
        code=typed,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
        now=at(MONDAY, 7),
    )
    assert booked.booking.channel == "invitation"
    stored = session.scalar(select(InvitationCode).where(InvitationCode.id == found.id))
    assert stored is not None and stored.code_key == code_key(row.code) and stored.uses == 1


def test_near_duplicate_codes_are_refused(session: Session) -> None:
    dw = make_dealer_world(session)
    scope = scope_of(dw.north)
    first = service.create_code(
        session, scope=scope, campaign_id=dw.campaign.id, code="spring-2026-k47"
    )
    assert first.code == "SPRING-2026-K47" and first.code_key == "SPR1NG2026K47"
    for near in ("SPRING2026K47", "spring 2026 k47", "SPR1NG-2026-K47", "SPRING-2O26-K47"):
        with pytest.raises(Conflict, match="reads like SPRING-2026-K47"):
            service.create_code(session, scope=scope, campaign_id=dw.campaign.id, code=near)
    with pytest.raises(Conflict, match="is taken"):
        service.create_code(session, scope=scope, campaign_id=dw.campaign.id, code=first.code)
    other = service.create_campaign(
        session,
        scope=scope_of(dw.south),
        dealer_code="D-ATL-002",
        name="South spring",
        products=["drive"],
        drive_from=dw.campaign.drive_from,
        drive_to=dw.campaign.drive_to,
        today=MONDAY,
    )
    with pytest.raises(Conflict, match="is taken"):  # another dealer's: no hint of whose
        service.create_code(
            session, scope=scope_of(dw.south), campaign_id=other.id, code="SPRING2026-K47"
        )
    codes = session.scalars(select(InvitationCode.code).order_by(InvitationCode.id)).all()
    assert list(codes).count("SPRING-2026-K47") == 1 and len(codes) == 1
    # Revoking finds it however it is typed.
    revoked = service.revoke_code(session, scope=STAFF, code="spring 2026 k47")
    assert revoked.id == first.id and revoked.revoked_at is not None


def test_the_guest_api_and_page_take_any_typing(client: TestClient, session: Session) -> None:
    dw = make_dealer_world(session)
    code = service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="CN8T-DMUH-94YP", max_uses=5
    ).code
    for typed in ("cn8t dmuh 94yp", "cn8tdmuh94yp", "CN8T-DMUH-94YP"):
        shown = client.get(f"/api/v1/invitations/{typed}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["code"] == code
    page = client.get("/invite", params={"code": "cn8t dmuh 94yp"}, follow_redirects=True)
    assert page.status_code == 200 and "Hudson Motors" in page.text


@pytest.fixture
def cli_run(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"PADDOCK_DATABASE_URL": database_url, "COLUMNS": "200"})
    get_settings.cache_clear()


def test_the_cli_takes_any_typing(cli_run: CliRunner, session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="CN8T-DMUH-94YP")
    shown = cli_run.invoke(cli.app, ["invitations", "show", "cn8t dmuh 94yp"])
    assert shown.exit_code == 0, shown.output
    assert "CN8T-DMUH-94YP" in shown.output and "Hudson Motors" in shown.output
