"""The dashboard's breakdowns counted by hand on SQLite and PostgreSQL: months of the year,
utilisation by pool and hour of day, and the invitation funnel.

Months and hours use the KPI world of test_kpis.py (New York, June 2031): drives at 10:00 and
12:00 on 2 June (car and coach 90 min, a circuit position for the middle 60 min), a block on
car 1 from 16:00 to 20:00, the site open 08:00-18:00."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope
from paddock.analytics import series
from paddock.analytics import service as kpi
from paddock.bookings import service as bookings
from paddock.crm import service as crm
from paddock.dealers import service as dealers
from paddock.errors import Invalid
from paddock.rollup import service as rollup
from tests.analytics.test_kpis import NOW, world
from tests.factories import MONDAY, at, make_world

STAFF = Scope.everything("test")


def test_months_add_up_to_the_headline_figures(session: Session) -> None:
    ids = world(session)
    months = {m.month.month: m for m in series.monthly(session, year=2031, now=NOW)}
    assert len(months) == 12
    june, july = months[6], months[7]
    assert (june.drivers, june.test_drives, june.from_dealers, june.no_shows) == (3, 3, 2, 1)
    assert june.dealer_share == pytest.approx(2 / 3)
    assert (june.done, june.no_show_rate) == (4, 0.2)  # and Eve's simulator session
    assert june.booked == 0 and july.booked == 3 and july.drivers == 0
    assert months[1].dealer_share is None
    headline = kpi.report(session, now=NOW)
    assert sum(m.drivers for m in months.values()) == headline.drivers.drivers
    assert sum(m.booked for m in months.values()) == headline.drivers.pipeline_booked
    assert sum(m.no_shows for m in months.values()) == headline.no_show.no_shows
    one = {m.month.month: m for m in series.monthly(session, year=2031, dealer_id=ids["d1"])}
    # Dealer D1: Ann drove, Cy did not come.
    assert (one[6].drivers, one[6].from_dealers, one[6].no_shows) == (1, 1, 1)
    assert series.cumulative([1, 0, 2]) == [1, 1, 3]
    # Compacted into day and month rows, the months read the same.
    before = series.monthly(session, year=2031, now=NOW)
    rollup.compact(session)
    assert series.monthly(session, year=2031, now=NOW) == before
    assert series.monthly(session, year=2031, dealer_id=ids["d1"])[5] == one[6]


def test_utilisation_by_pool_and_hour(session: Session) -> None:
    world(session)
    use = series.utilisation_by_hour(
        session, day_from=date(2031, 6, 2), day_to=date(2031, 6, 3), now=NOW
    )
    pools = {p.pool: p for p in use.pools}
    assert set(pools) == {"car", "coach", "module", "sim"}
    car, coach, module = pools["car"], pools["coach"], pools["module"]
    assert {h: v for h, v in enumerate(car.allocated) if v} == {10: 1.0, 11: 0.5, 12: 1.0, 13: 0.5}
    assert {h: v for h, v in enumerate(module.allocated) if v} == {
        10: 0.75,
        11: 0.25,
        12: 0.75,
        13: 0.25,
    }
    # Two cars work 08:00-18:00; the block takes car 1 from 16:00.
    assert car.available[8:16] == [2.0] * 8 and car.available[16:18] == [1.0, 1.0]
    assert sum(car.available) == 18.0 and car.available[7] == 0.0 and car.available[18] == 0.0
    assert car.rates[10] == 0.5 and car.rates[16] == 0.0 and car.rates[7] is None
    assert car.rate == round(3 / 18, 4) and coach.rate == round(3 / 20, 4)
    assert module.rate == round(2 / 80, 4) and pools["sim"].rate == 0.0
    assert use.hours == list(range(8, 18))
    # The same totals as the KPI's utilisation per pool.
    headline = {
        u.pool: u
        for u in kpi.report(
            session, now=NOW, utilisation_from=date(2031, 6, 2), utilisation_to=date(2031, 6, 3)
        ).utilisation
    }
    for code in ("car", "coach", "module"):
        assert round(sum(pools[code].allocated), 2) == headline[code].allocated_hours
        assert round(sum(pools[code].available), 2) == headline[code].available_hours


def test_hours_follow_the_local_clock_across_dst(session: Session) -> None:
    """On 2 Nov 2031 New York falls back: a 10:00 drive is 15:00 UTC, not 14:00."""
    make_world(session, cars=1, coaches=1)
    day = date(2031, 11, 3)
    bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(day, 10),
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
        now=at(day, 8) - timedelta(days=3),
    )
    use = series.utilisation_by_hour(
        session, day_from=date(2031, 10, 30), day_to=date(2031, 11, 6), now=at(day, 20)
    )
    car = next(p for p in use.pools if p.pool == "car")
    assert {h: v for h, v in enumerate(car.allocated) if v} == {10: 1.0, 11: 0.5}
    assert car.available[8] == 7.0 and car.available[18] == 0.0  # 7 days of 08:00-18:00


def test_bad_utilisation_periods_are_refused(session: Session) -> None:
    make_world(session)
    with pytest.raises(Invalid, match="end after"):
        series.utilisation_by_hour(session, day_from=MONDAY, day_to=MONDAY)
    with pytest.raises(Invalid, match="at most"):
        series.utilisation_by_hour(session, day_from=MONDAY, day_to=MONDAY + timedelta(days=999))


def test_invitation_funnel(session: Session) -> None:
    """Invited Ann, Bob and Cy: Ann drove and bought, Bob cancelled, Cy never booked; another
    dealer's invitee drove too."""
    make_world(session, cars=2, coaches=2)
    north = dealers.create_dealer(
        session,
        code="D-NYC-001",
        name="Hudson Motors",
        city="New York",
        state="NY",
        region="Northeast",
    )
    south = dealers.create_dealer(
        session,
        code="D-ATL-002",
        name="Peach State Cars",
        city="Atlanta",
        state="GA",
        region="Southeast",
    )
    booked_at = at(MONDAY, 8) - timedelta(days=7)

    def invite(dealer_code: str, name: str) -> str:
        campaign = dealers.create_campaign(
            session,
            scope=STAFF,
            dealer_code=dealer_code,
            name=f"Drive for {name}",
            products=["drive"],
            drive_from=MONDAY,
            drive_to=MONDAY + timedelta(days=20),
            today=booked_at.date(),
        )
        return dealers.add_invitee(
            session,
            scope=STAFF,
            campaign_id=campaign.id,
            name=name,
            email=f"{name.lower()}@example.com",
        ).code

    codes = {n: invite(north.code, n) for n in ("Ann", "Bob", "Cy")}
    codes["Dee"] = invite(south.code, "Dee")
    refs = {}
    for hour, name in ((10, "Ann"), (12, "Bob"), (14, "Dee")):
        refs[name] = dealers.book_with_code(
            session,
            code=codes[name],
            product_code="drive",
            starts_at=at(MONDAY, hour),
            guest=bookings.Guest(name, f"{name.lower()}@example.com"),
            now=booked_at,
        ).booking.ref
    bookings.cancel_booking(session, ref=refs["Bob"], now=booked_at + timedelta(hours=1))
    for name, hour in (("Ann", 10), ("Dee", 14)):
        bookings.check_in(session, ref=refs[name], now=at(MONDAY, hour) - timedelta(minutes=20))
        bookings.complete(session, ref=refs[name], now=at(MONDAY, hour) + timedelta(minutes=95))
    sold = at(MONDAY, 18) + timedelta(days=5)
    crm.link_bookings(session, now=sold)
    crm.record_sale(
        session,
        sale=crm.SaleInput(
            email="ann@example.com",
            name="Ann",
            model="Taycan 4S",
            sold_on=sold.date(),
            deal_ref="N-1",
        ),
        dealer_id=north.id,
        source="api",
        actor="test",
        now=sold,
    )
    now = datetime.now(UTC)
    period = {"since": now - timedelta(days=1), "until": now + timedelta(days=1)}
    everyone = series.invitation_funnel(session, **period)
    assert (everyone.invited, everyone.booked, everyone.drove, everyone.bought) == (4, 2, 2, 1)
    mine = series.invitation_funnel(session, dealer_id=north.id, **period)
    assert (mine.invited, mine.booked, mine.drove, mine.bought) == (3, 1, 1, 1)
    assert mine.rate("drove") == pytest.approx(1 / 3)
    before = series.invitation_funnel(
        session, since=now - timedelta(days=9), until=now - timedelta(days=2)
    )
    assert before.invited == 0 and before.rate("booked") is None
