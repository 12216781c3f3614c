"""Real threads racing on a real database (SQLite and PostgreSQL): a dealer's monthly places
and a code's max uses are never exceeded."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.bookings import service as bookings
from paddock.capacity.models import Allocation
from paddock.dealers import service
from paddock.dealers.models import BookingAttribution, DealerAllotment, InvitationCode
from paddock.errors import DomainError
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.factories import MONDAY, at

THREADS = 10
NOW = at(MONDAY, 7) - timedelta(days=2)


def _race(factory: sessionmaker[Session], code: str) -> Counter[str]:
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(n: int) -> None:
        with factory() as session:
            barrier.wait()
            try:
                service.book_with_code(
                    session,
                    code=code,
                    product_code="drive",
                    # Spread over the month: the dealer's places, not cars, are what is scarce.
                    starts_at=at(MONDAY + timedelta(days=n % 5), 9 + n // 5),
                    guest=bookings.Guest(f"Racer {n}", f"racer{n}@example.com"),
                    now=NOW,
                )
                outcome = "booked"
            except DomainError as exc:
                outcome = exc.code
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _place_allocations(session: Session) -> int:
    pool_id = session.scalar(select(DealerAllotment.pool_id))
    return (
        session.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(Allocation.pool_id == pool_id, Allocation.active.is_(True))
        )
        or 0
    )


def test_threads_racing_for_the_last_places_never_exceed_the_allotment(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    dw = make_dealer_world(session, places=3, cars=12, coaches=12, positions=12)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="RACE-ALL-K47", max_uses=None
    )
    outcomes = _race(session_factory, "RACE-ALL-K47")
    session.rollback()
    assert outcomes["booked"] == 3, outcomes
    assert set(outcomes) <= {"booked", "allotment-exhausted", "busy"}, outcomes
    assert _place_allocations(session) == 3
    assert session.scalar(select(func.count()).select_from(BookingAttribution)) == 3
    assert session.scalar(select(InvitationCode.uses)) == 3


def test_threads_racing_for_a_codes_last_uses_never_exceed_max_uses(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    dw = make_dealer_world(session, places=50, cars=12, coaches=12, positions=12)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="TWO-GUESTS-K47", max_uses=2
    )
    outcomes = _race(session_factory, "TWO-GUESTS-K47")
    session.rollback()
    assert outcomes["booked"] == 2, outcomes
    assert set(outcomes) <= {"booked", "invitation-used-up", "busy"}, outcomes
    assert session.scalar(select(InvitationCode.uses)) == 2
    assert session.scalar(select(func.count()).select_from(BookingAttribution)) == 2
    # The losers left nothing behind: no booking, no car, no dealer place.
    assert _place_allocations(session) == 2
    live = session.scalar(
        select(func.count()).select_from(Allocation).where(Allocation.active.is_(True))
    )
    assert live == 2 * 4  # car, coach, module position and the dealer's place, per booking
