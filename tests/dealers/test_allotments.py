"""Allotments: places per dealer and month, set by centre staff, enforced by the capacity core."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.capacity import operations
from paddock.dealers import service
from paddock.dealers.errors import AllotmentExhausted
from paddock.errors import Conflict, SoldOut
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.factories import MONDAY, NEW_YORK, at

GUEST = bookings.Guest("Ann Lee", "ann@example.com")
NOW = at(MONDAY, 7) - timedelta(days=3)
JUNE = date(2031, 6, 1)
JULY = date(2031, 7, 1)


def _book(session: Session, day: date, hour: int = 10) -> bookings.BookingResult:
    return service.book_with_code(
        session,
        code="ALLOT-TEST-K47",
        product_code="drive",
        starts_at=at(day, hour),
        guest=GUEST,
        now=NOW,
    )


@pytest.fixture
def dw(session: Session):  # type: ignore[no-untyped-def]
    world = make_dealer_world(session, places=1)
    campaign = service.create_campaign(
        session,
        scope=STAFF,
        dealer_code="D-NYC-001",
        name="Two months",
        products=["drive"],
        drive_from=MONDAY,
        drive_to=date(2031, 7, 31),
    )
    service.create_code(
        session, scope=STAFF, campaign_id=campaign.id, code="ALLOT-TEST-K47", max_uses=None
    )
    return world


def test_each_month_has_its_own_places(session: Session, dw: object) -> None:
    _book(session, MONDAY)
    with pytest.raises(AllotmentExhausted):
        _book(session, MONDAY + timedelta(days=1))
    _book(session, date(2031, 7, 1))  # July's own place, an hour after June ended locally
    statuses = service.list_allotments(
        session, scope=STAFF, dealer_code="D-NYC-001", month_from=JUNE, month_to=JULY
    )
    assert [(s.month, s.places, s.used) for s in statuses] == [(JUNE, 1, 1), (JULY, 1, 1)]


def test_raising_lowering_and_the_floor_of_booked_places(session: Session, dw: object) -> None:
    _book(session, MONDAY)
    raised = service.set_allotment(
        session, dealer_code="D-NYC-001", site_code="TST", month=JUNE, places=3, actor="test"
    )
    assert (raised.places, raised.used, raised.remaining) == (3, 1, 2)
    _book(session, MONDAY, 12)
    lowered = service.set_allotment(
        session, dealer_code="D-NYC-001", site_code="TST", month=JUNE, places=2, actor="test"
    )
    assert lowered.remaining == 0
    with pytest.raises(AllotmentExhausted):
        _book(session, MONDAY, 14)
    with pytest.raises(Conflict, match="already has 2 booked"):
        service.set_allotment(
            session, dealer_code="D-NYC-001", site_code="TST", month=JUNE, places=1, actor="test"
        )
    # Raising again reopens the closed place before adding new ones.
    service.set_allotment(
        session, dealer_code="D-NYC-001", site_code="TST", month=JUNE, places=4, actor="test"
    )
    _book(session, MONDAY, 14)
    _book(session, MONDAY, 16)
    with pytest.raises(AllotmentExhausted):
        _book(session, MONDAY + timedelta(days=2))


def test_zero_places_and_a_month_set_before_first_use(session: Session, dw: object) -> None:
    service.set_allotment(
        session, dealer_code="D-NYC-001", site_code="TST", month=JULY, places=0, actor="test"
    )
    with pytest.raises(AllotmentExhausted, match="July 2031"):
        _book(session, date(2031, 7, 7))
    _book(session, MONDAY)  # June still has the default place


def test_availability_with_a_code_shows_the_dealers_places(session: Session, dw: object) -> None:
    result = service.invitation_availability(
        session,
        code="allot-test-k47",
        product_code="drive",
        date_from=MONDAY,
        date_to=MONDAY + timedelta(days=1),
        now=NOW,
    )
    assert result.places_left == {JUNE: 1}
    assert any(s.remaining > 0 for s in result.slots)
    _book(session, MONDAY)
    full = service.invitation_availability(
        session,
        code="allot-test-k47",
        product_code="drive",
        date_from=MONDAY,
        date_to=MONDAY + timedelta(days=1),
        now=NOW,
    )
    assert full.places_left == {JUNE: 0}
    assert all(s.remaining == 0 for s in full.slots)
    assert full.slots[0].shortfall is not None
    assert full.slots[0].shortfall.pool_code == "dealer-d-nyc-001-2031-06"


def test_a_days_closure_leaves_the_dealers_month_of_places(session: Session, dw: object) -> None:
    """A site closure closes the centre's resources, not a dealer's monthly places: a place
    booked this month does not stop the closure, and another day stays bookable with a code."""
    service.set_allotment(
        session, dealer_code="D-NYC-001", site_code="TST", month=JUNE, places=3, actor="test"
    )
    _book(session, MONDAY)
    closed_day = MONDAY + timedelta(days=2)
    block = operations.close_site(
        session,
        site_code="TST",
        starts_at=at(closed_day, 0),
        ends_at=at(closed_day + timedelta(days=1), 0),
        reason="Storm",
        now=NOW,
    )
    assert block.unit_id is None
    with pytest.raises(SoldOut):
        _book(session, closed_day)
    _book(session, MONDAY + timedelta(days=3))
    days = service.invitation_availability(
        session,
        code="allot-test-k47",
        product_code="drive",
        date_from=MONDAY + timedelta(days=1),
        date_to=MONDAY + timedelta(days=3),
        now=NOW,
    )
    open_days = {s.starts_at.astimezone(NEW_YORK).date() for s in days.slots if s.remaining}
    assert closed_day not in open_days and MONDAY + timedelta(days=1) in open_days
