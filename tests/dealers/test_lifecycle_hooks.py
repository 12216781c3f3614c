"""An attributed booking keeps its dealer's place when moved, and a lapsed hold gives its code
use back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bootstrap import register_domains
from paddock.capacity.models import Allocation
from paddock.dealers import service
from paddock.dealers.models import DealerAllotment, InvitationCode
from paddock.errors import DomainError
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.factories import MONDAY, at

NOW = at(MONDAY, 7) - timedelta(days=2)
GUEST = bookings.Guest("Ann Lee", "ann@example.com")


@pytest.fixture(autouse=True)
def _hooks_registered() -> None:
    register_domains()  # as the app and the CLI do at start


def places_taken(session: Session) -> dict[date, int]:
    rows = session.execute(
        select(DealerAllotment.month, Allocation.id)
        .join(Allocation, Allocation.pool_id == DealerAllotment.pool_id)
        .where(Allocation.active.is_(True))
    ).all()
    session.rollback()
    taken: dict[date, int] = {}
    for month, _ in rows:
        taken[month] = taken.get(month, 0) + 1
    return taken


def test_a_moved_booking_takes_the_new_months_place(session: Session) -> None:
    dw = make_dealer_world(session, places=1)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="MOVE-ME-K47", max_uses=None
    )
    first = service.book_with_code(
        session,
        code="MOVE-ME-K47",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        now=NOW,
    )
    june, july = MONDAY.replace(day=1), date(MONDAY.year, 7, 1)
    assert places_taken(session) == {june: 1}

    # Within the month: the same month's one place is taken again, not lost.
    bookings.reschedule(session, ref=first.booking.ref, starts_at=at(MONDAY, 14), now=NOW)
    assert places_taken(session) == {june: 1}

    # Into July: July's place is taken and June's is free for another guest.
    bookings.reschedule(
        session, ref=first.booking.ref, starts_at=at(date(MONDAY.year, 7, 1), 10), now=NOW
    )
    assert places_taken(session) == {july: 1}
    service.book_with_code(
        session,
        code="MOVE-ME-K47",
        product_code="drive",
        starts_at=at(MONDAY + timedelta(days=1), 10),
        guest=bookings.Guest("Bo Day", "bo@example.com"),
        now=NOW,
    )
    assert places_taken(session) == {june: 1, july: 1}


def test_a_move_refused_when_the_new_month_has_no_place(session: Session) -> None:
    dw = make_dealer_world(session, places=1)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="FULL-JULY-K47", max_uses=None
    )
    june_booking = service.book_with_code(
        session,
        code="FULL-JULY-K47",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        now=NOW,
    )
    july_day = date(MONDAY.year, 7, 1)
    # July's only place goes to the first booking (the campaign takes June dates only, so
    # the way into July is a move); then a second June booking cannot follow it.
    bookings.reschedule(session, ref=june_booking.booking.ref, starts_at=at(july_day, 10), now=NOW)
    second = service.book_with_code(
        session,
        code="FULL-JULY-K47",
        product_code="drive",
        starts_at=at(MONDAY, 11),
        guest=bookings.Guest("Cy Poe", "cy@example.com"),
        now=NOW,
    )
    with pytest.raises(DomainError):
        bookings.reschedule(session, ref=second.booking.ref, starts_at=at(july_day, 14), now=NOW)
    kept = bookings.get_booking(session, ref=second.booking.ref)
    assert kept.booking.starts_at == at(MONDAY, 11)
    assert places_taken(session) == {MONDAY.replace(day=1): 1, july_day: 1}


def test_a_lapsed_hold_gives_its_code_use_back(session: Session) -> None:
    dw = make_dealer_world(session, places=4)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="ONCE-K4Q7", max_uses=1
    )
    service.book_with_code(
        session,
        code="ONCE-K4Q7",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        hold=True,
        hold_minutes=10,
        now=NOW,
    )
    uses = session.scalar(select(InvitationCode.uses).where(InvitationCode.code == "ONCE-K4Q7"))
    session.rollback()
    assert uses == 1
    assert bookings.expire_holds(session, now=NOW + timedelta(minutes=11)) == 1
    uses = session.scalar(select(InvitationCode.uses).where(InvitationCode.code == "ONCE-K4Q7"))
    session.rollback()
    assert uses == 0
    again = service.book_with_code(
        session,
        code="ONCE-K4Q7",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        now=NOW + timedelta(minutes=12),
    )
    assert again.status == "confirmed"
