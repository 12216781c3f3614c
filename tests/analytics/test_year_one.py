"""Year one per site: it runs from the site's opening day, against the site's own targets (all
sites: their sum); no verdict without data; drivers are people, their visits apart; the
motorsport site is no experience centre. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from paddock.analytics import series
from paddock.analytics import service as kpi
from paddock.capacity.models import Site, SiteKind
from paddock.catalog import service as catalog
from paddock.crm import service as crm
from paddock.errors import Invalid
from tests.crm.helpers import visit
from tests.factories import NEW_YORK, at, make_world

OPENED = date(2031, 5, 14)
NOW = at(date(2031, 6, 20), 18)


def _site(session: Session, **values: object) -> Site:
    site = make_world(session).site
    for name, value in values.items():
        setattr(site, name, value)
    session.commit()
    return site


def test_year_one_runs_from_the_opening_day(session: Session) -> None:
    _site(session, opens_on=OPENED, drivers_target=12_000, dealer_share_target_bp=1200)
    scope = kpi.scope_for(session, site_code="TST")
    assert (scope.opens_on, scope.drivers_target, scope.dealer_share_target) == (
        OPENED,
        12_000,
        0.12,
    )
    period = kpi.period_of(scope, None, NOW)
    assert period.start == datetime.combine(OPENED, time(), tzinfo=NEW_YORK)
    assert period.end == datetime.combine(date(2032, 5, 14), time(), tzinfo=NEW_YORK)
    assert (period.year, period.number, period.label) == (2031, 1, "Year 1 (from 14 May 2031)")
    # Before the opening, the year shown is year one; the next anniversary begins year two.
    assert kpi.period_of(scope, None, at(date(2030, 12, 1), 12)).number == 1
    assert kpi.period_of(scope, None, at(date(2032, 5, 14), 9)).number == 2
    assert kpi.period_of(scope, None, at(date(2032, 5, 13), 9)).number == 1
    with pytest.raises(Invalid, match="first year of operation begins on 14 May 2031"):
        kpi.period_of(scope, 2030, NOW)


def test_without_an_opening_day_years_are_calendar_years(session: Session) -> None:
    _site(session)
    scope = kpi.scope_for(session)
    period = kpi.period_of(scope, None, NOW)
    assert (period.start.month, period.start.day, period.number) == (1, 1, None)
    assert (scope.drivers_target, scope.dealer_share_target) == (
        kpi.DRIVERS_TARGET,
        kpi.DEALER_SHARE_TARGET,
    )


def test_all_sites_add_their_targets_and_start_at_the_first_opening(session: Session) -> None:
    _site(session, opens_on=OPENED, drivers_target=12_000, dealer_share_target_bp=1500)
    session.add_all(
        [
            Site(
                code="LA",
                name="Los Angeles",
                time_zone="America/Los_Angeles",
                opens_on=date(2031, 11, 1),
                drivers_target=8_000,
                dealer_share_target_bp=1000,
            ),
            Site(
                code="MSP",
                name="Motorsport",
                time_zone="Europe/Berlin",
                kind=SiteKind.MOTORSPORT,
                opens_on=date(2020, 1, 1),
                drivers_target=1,
            ),
        ]
    )
    session.commit()
    scope = kpi.scope_for(session)
    # 12,000 + 8,000; (12,000 x 15 % + 8,000 x 10 %) / 20,000 = 13 %; the motorsport site,
    # no experience centre, counts in neither.
    assert (scope.drivers_target, scope.dealer_share_target, scope.opens_on) == (
        20_000,
        0.13,
        OPENED,
    )
    assert kpi.scope_for(session, site_code="LA").drivers_target == 8_000
    with pytest.raises(Invalid, match="not an experience centre"):
        kpi.scope_for(session, site_code="MSP")
    assert [s.code for s in catalog.list_sites(session)] == ["TST", "LA"]
    assert [s.code for s in catalog.list_sites(session, kind=None)] == ["TST", "LA", "MSP"]


def test_no_verdict_on_empty_data(session: Session) -> None:
    _site(session, opens_on=OPENED, drivers_target=12_000)
    result = kpi.report(session, site_code="TST", now=NOW)
    assert (result.drivers.drivers, result.drivers.visits) == (0, 0)
    assert result.drivers.on_track is None
    assert result.dealer_share.on_track is None
    assert result.year_of_operation == 1


def test_drivers_are_people_and_visits_are_apart(session: Session) -> None:
    _site(session, opens_on=OPENED, drivers_target=2, dealer_share_target_bp=1500)
    day = date(2031, 6, 2)
    visit(session, email="ann@example.com", day=day)
    visit(session, email="ANN@example.com", day=day, hour=14)  # the same guest, back
    visit(session, email="bob@example.com", name="Bob Ray", day=date(2031, 6, 3))
    # Before the opening day: not in year one.
    visit(session, email="cy@example.com", name="Cy Doe", day=date(2031, 5, 13))
    result = kpi.report(session, site_code="TST", now=NOW)
    assert (result.drivers.drivers, result.drivers.visits) == (2, 3)
    assert result.drivers.on_track is True  # 2 people of a target of 2
    crm.link_bookings(session, now=NOW)  # linked to people, the count stays
    again = kpi.report(session, site_code="TST", now=NOW)
    assert (again.drivers.drivers, again.drivers.visits) == (2, 3)
    assert "visits_ytd,TST,3,,circuit visits driven" in kpi.to_csv(again).splitlines()
    # The months of year one: May (from the 14th) to April; the visits fall in June.
    months = series.monthly(session, site_code="TST", now=NOW)
    assert [m.month for m in months][:2] == [date(2031, 5, 1), date(2031, 6, 1)]
    assert months[-1].month == date(2032, 4, 1) and len(months) == 12
    assert sum(m.drivers for m in months) == 3


def test_the_demo_world_sets_each_sites_year_one(session: Session) -> None:
    from paddock.demo.loader import load

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("loaded on PostgreSQL by tests/test_migrations_on_data.py")
    today = date.today()
    load(session, today=today, days_back=2, days_ahead=2)
    sites = {s.code: s for s in catalog.list_sites(session, kind=None)}
    assert {code: s.kind for code, s in sites.items()} == {
        "ATL": SiteKind.EXPERIENCE,
        "LA": SiteKind.EXPERIENCE,
        "MSP": SiteKind.MOTORSPORT,
    }
    assert sites["ATL"].opens_on == sites["LA"].opens_on == today - timedelta(days=2)
    assert (sites["ATL"].drivers_target, sites["LA"].drivers_target) == (12_000, 8_000)
    scope = kpi.scope_for(session)
    assert (scope.drivers_target, scope.dealer_share_target) == (20_000, 0.15)
    assert kpi.period_of(scope, None, at(today, 12)).number == 1  # year one, from the opening
