"""KPI values on a small world counted by hand, on SQLite and PostgreSQL; erasure changes none.

The world (New York time, 2031; the site is open 08:00-18:00 every day):
  02 Jun 10:00 Ann  drive  completed   via dealer D1   prospect, buys on 20 Jun (from D2)
  02 Jun 12:00 Bob  drive  completed                   already a client
  03 Jun 10:00 Cy   drive  no-show     via dealer D1
  03 Jun 12:00 Dee  drive  checked in  via dealer D2   prospect
  04 Jun 10:00 Eve  sim    completed                   (a simulator: not the circuit)
  04 Jun 12:00 Fay  drive  cancelled   via dealer D2
  01 Jul 10:00, 12:00 and 02 Jul 10:00: confirmed drives ahead; 01 Jul 14:00 cancelled.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paddock.analytics import service as kpi
from paddock.bookings import service as bookings
from paddock.capacity import operations
from paddock.capacity.models import Block, Unit
from paddock.catalog.models import Product
from paddock.crm import service as crm
from paddock.rollup import service as rollup
from tests.crm.helpers import make_dealer, visit
from tests.factories import at, make_world

NOW = at(date(2031, 6, 20), 18)


def world(session: Session) -> dict[str, int]:
    built = make_world(session, cars=2, coaches=2)
    session.execute(update(Product).where(Product.code == "sim").values(category="simulator"))
    car = built.units["car"][0]
    session.add(
        Block(
            site_id=built.site.id,
            unit_id=car.id,
            kind="maintenance",
            starts_at=at(date(2031, 6, 2), 16),
            ends_at=at(date(2031, 6, 2), 20),
        )
    )
    session.commit()
    d1 = make_dealer(session, "D1", "One Motors").id
    d2 = make_dealer(session, "D2", "Two Motors").id
    crm.create_person(session, name="Bob Ray", email="bob@example.com", kind="client")
    june = date(2031, 6, 2)
    visit(session, email="ann@example.com", name="Ann Lee", day=june, dealer_id=d1)
    visit(session, email="bob@example.com", name="Bob Ray", day=june, hour=12)
    day = june + timedelta(days=1)
    visit(session, email="cy@example.com", name="Cy Doe", day=day, outcome="no_show", dealer_id=d1)
    visit(
        session,
        email="dee@example.com",
        name="Dee Vo",
        day=day,
        hour=12,
        outcome="checked_in",
        dealer_id=d2,
    )
    day = june + timedelta(days=2)
    visit(session, email="eve@example.com", name="Eve Ng", day=day, product="sim")
    visit(
        session,
        email="fay@example.com",
        name="Fay Wu",
        day=day,
        hour=12,
        outcome="cancelled",
        dealer_id=d2,
    )
    for when, hour, outcome in (
        (date(2031, 7, 1), 10, "confirmed"),
        (date(2031, 7, 1), 12, "confirmed"),
        (date(2031, 7, 2), 10, "confirmed"),
        (date(2031, 7, 1), 14, "cancelled"),
    ):
        made = bookings.create_booking(
            session,
            product_code="drive",
            starts_at=at(when, hour),
            guest=bookings.Guest("Future Guest", f"future{hour}{when.day}@example.com"),
            now=NOW,
        )
        if outcome == "cancelled":
            bookings.cancel_booking(session, ref=made.booking.ref, now=NOW)
    crm.link_bookings(session, now=NOW)
    crm.record_sale(
        session,
        sale=crm.SaleInput(
            email="ann@example.com",
            name="Ann Lee",
            model="Taycan 4S",
            sold_on=date(2031, 6, 20),
            deal_ref="D2-1",
            dealer_code="D2",
        ),
        # The maker's sales feed (a dealer's own report converts only its own visits).
        dealer_id=None,
        source="system",
        actor="test",
        now=NOW,
    )
    return {"d1": d1, "d2": d2}


def report(session: Session) -> kpi.KpiReport:
    return kpi.report(
        session,
        now=NOW,
        utilisation_from=date(2031, 6, 2),
        utilisation_to=date(2031, 6, 3),
    )


def test_headline_kpis(session: Session) -> None:
    world(session)
    result = report(session)
    d = result.drivers
    assert (d.year, d.drivers, d.target) == (2031, 3, 20_000)
    assert d.run_rate_per_day == round(3 / 28, 2)
    assert d.show_rate == 0.75
    assert d.pipeline_booked == 3
    remaining = (kpi.year_bounds(2031, NOW.tzinfo)[1] - NOW).total_seconds() / 86400  # type: ignore[arg-type]
    excess = (2 * 0.75 - 3 / 28) + (0.75 - 3 / 28)
    assert d.forecast == round(3 + 3 / 28 * remaining + excess)
    assert d.on_track is False
    share = result.dealer_share
    assert (share.test_drives, share.from_dealers, share.share) == (3, 2, round(2 / 3, 4))
    assert share.on_track is True
    assert (result.no_show.no_shows, result.no_show.expected, result.no_show.rate) == (1, 5, 0.2)
    # Prospects' test drives driven: Ann's and Dee's; Ann's converted.
    c = result.conversion
    assert (c.prospects_drove, c.converted, c.rate) == (2, 1, 0.5)


def test_leaderboard(session: Session) -> None:
    world(session)
    rows = report(session).leaderboard
    assert [(r.rank, r.dealer, r.bookings, r.drivers, r.no_shows, r.conversions) for r in rows] == [
        (1, "D1", 2, 1, 1, 1),
        (2, "D2", 1, 1, 0, 0),
    ]
    assert [r.share_of_dealer_drivers for r in rows] == [0.5, 0.5]


def test_utilisation_per_pool(session: Session) -> None:
    world(session)
    use = {u.pool: u for u in report(session).utilisation}
    # Cars: two drives of 90 min; 2 cars x 10 h, less the 2 h of the block inside opening hours.
    assert (use["car"].allocated_hours, use["car"].available_hours) == (3.0, 18.0)
    assert use["car"].rate == round(3 / 18, 4)
    assert (use["coach"].allocated_hours, use["coach"].available_hours) == (3.0, 20.0)
    assert (use["module"].allocated_hours, use["module"].available_hours) == (2.0, 80.0)
    assert (use["sim"].allocated_hours, use["sim"].rate) == (0.0, 0.0)


def test_csv_has_one_row_per_figure(session: Session) -> None:
    world(session)
    text = kpi.to_csv(report(session))
    lines = text.strip().splitlines()
    assert lines[0] == "kpi,subject,value,target,detail"
    assert "drivers_ytd,all,3,20000,year 2031" in lines
    assert any(line.startswith("dealer_share,all,0.6667,0.15") for line in lines)
    assert any(line.startswith("dealer_rank,D1,1") for line in lines)


def test_erasure_changes_no_kpi(session: Session) -> None:
    world(session)
    before = kpi.to_dict(report(session))
    for email in ("ann@example.com", "dee@example.com"):
        person = crm.find_by_email(session, email)
        assert person is not None
        crm.erase_person(session, person_id=person.id, actor="dpo", now=NOW)
    after = kpi.to_dict(report(session))
    assert after == before


def test_compaction_and_rebuild_change_no_kpi(session: Session) -> None:
    """Later in the year, whole months come from the month rows once compacted."""
    world(session)
    later = at(date(2031, 8, 15), 12)

    def figures() -> dict[str, object]:
        result = kpi.to_dict(kpi.report(session, now=later))
        result.pop("utilisation")  # its default period is the last 28 days: none here
        return result

    before = figures()
    rollup.compact(session)
    assert figures() == before
    rollup.rebuild(session)
    assert figures() == before
    assert before["drivers"]["drivers"] == 3  # type: ignore[index]


def test_dealer_sees_only_their_own_standing(session: Session) -> None:
    ids = world(session)
    mine, ranked = kpi.dealer_standing(session, dealer_id=ids["d2"], now=NOW)
    assert ranked == 2 and mine is not None and (mine.rank, mine.dealer) == (2, "D2")


def test_bad_periods_are_refused(session: Session) -> None:
    world(session)
    with pytest.raises(Exception, match="end after"):
        kpi.report(
            session, now=NOW, utilisation_from=date(2031, 6, 2), utilisation_to=date(2031, 6, 2)
        )


def test_blocked_time_is_not_use(session: Session) -> None:
    """A maintenance block taken through operations (which guards it with allocation rows)
    makes a car unavailable; it does not make the car used."""
    world(session)
    second_car = session.scalars(select(Unit.id).where(Unit.label == "Car 2")).one()
    operations.block_unit(
        session,
        unit_id=second_car,
        starts_at=at(date(2031, 6, 3), 16),
        ends_at=at(date(2031, 6, 3), 18),
        reason="brakes",
        now=at(date(2031, 6, 1), 8),
    )
    assert {u.pool: u for u in report(session).utilisation}["car"].allocated_hours == 3.0
    rollup.rebuild(session)
    assert {u.pool: u for u in report(session).utilisation}["car"].allocated_hours == 3.0
