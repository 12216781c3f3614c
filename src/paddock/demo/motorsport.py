"""The customer racing demo: the article's situation in late 2023, weeks after Petit Le Mans.

Facts (shared/domain/BRIEF.md): 2023 deliveries Proton 2, Jota 1, JDC-Miller 1; Proton P3 at
Petit Le Mans 2023; the WEC/IMSA 2024 and 2025 calendars; initially at most 2 customer cars per
series; for 2024 Jota and Proton each want a second WEC car and JDC-Miller a spare car.

Assumptions (illustrative, chosen so the decision and its reasons show at once):
- The 2023 cars carry on into 2024: Jota #38 and Proton #99 in WEC (Europe-based), Proton #5
  and JDC-Miller #85 in IMSA (North America-based). Chassis serials and delivery dates are
  made up.
- WEC's cap is raised to 3 customer cars (2024 had three: Jota #12 and #38, Proton #99);
  IMSA keeps the initial 2.
- Support organisation (standard.demo_resource_pools), with 6 data specialists, one of them at
  a factory endurance test 15-19 Apr 2024: the Imola / Long Beach weekend (17-21 Apr) then has
  5 data specialists for 4 committed cars. Each second WEC car needs its own data specialist.
- Value: team priority Jota 3, Proton 2, JDC-Miller 2; series weight WEC 3, IMSA 2; a podium
  adds 1, a win 3 (results of seasons before the one decided).
- Requests arrived Proton (24 Oct), Jota (31 Oct), JDC-Miller (7 Nov 2023).

What follows: each request fits on its own. Together the second WEC cars do not: the fourth
WEC car breaks the cap of 3 and the Imola / Long Beach weekend is one data specialist short.
`decide --season 2024` accepts Jota's second car (value 9) and JDC-Miller's spare (4) and
declines Proton's (7): objective 13, proven optimal; greedy in order of arrival would have
taken Proton's (11). What it would take for Proton too: raise the WEC cap to 4 and add one
data specialist for 17-19 Apr 2024. 2025 holds its calendars and the support calendar (leave)
to plan the season after.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.capacity.models import Block, Pool, Site, SiteHours, SiteKind, Unit, UnitShift
from paddock.motorsport import models as motorsport_models
from paddock.motorsport.engine import calendars
from paddock.motorsport.engine.standard import DEFAULT_STANDARD, demo_resource_pools, kind_label
from paddock.motorsport.seasons import add_events
from paddock.motorsport.service import allocate_entries

SITE_CODE = "MSP"
ZONE = "Europe/Berlin"
DATA_SPECIALISTS = 6
WEC_CAP = 3
TEAM_PRIORITY = {"jota": 3, "proton": 2, "jdc-miller": 2}
SERIES = (
    (calendars.WEC, "FIA World Endurance Championship", 3, WEC_CAP),
    (calendars.IMSA, "IMSA WeatherTech SportsCar Championship", 2, None),
)
# (serial, team, delivered_on, 2023/2024 entry: championship, car number, base region)
CARS = (
    ("963-C01", "proton", date(2023, 3, 20), calendars.WEC, "99", calendars.EUROPE),
    ("963-C02", "proton", date(2023, 5, 15), calendars.IMSA, "5", calendars.NORTH_AMERICA),
    ("963-C03", "jota", date(2023, 4, 24), calendars.WEC, "38", calendars.EUROPE),
    ("963-C04", "jdc-miller", date(2023, 5, 29), calendars.IMSA, "85", calendars.NORTH_AMERICA),
)
# (code, team, series, kind, car number, received_on, note)
REQUESTS = (
    (
        "proton-wec-2024-additional-car",
        "proton",
        calendars.WEC,
        "additional_car",
        None,
        date(2023, 10, 24),
        "Second 963 for WEC 2024, ten days after the Petit Le Mans podium.",
    ),
    (
        "jota-wec-2024-additional-car",
        "jota",
        calendars.WEC,
        "additional_car",
        "12",
        date(2023, 10, 31),
        "Second 963 for WEC 2024 (#12 alongside #38).",
    ),
    (
        "jdc-miller-imsa-2024-spare-car",
        "jdc-miller",
        calendars.IMSA,
        "spare_car",
        None,
        date(2023, 11, 7),
        "A spare car for the IMSA season.",
    ),
)
# (pool code, first day, last day, units, kind, reason)
BLOCKS = (
    ("data", date(2024, 4, 15), date(2024, 4, 19), 1, "other", "factory endurance test"),
    ("eng-eu", date(2024, 8, 5), date(2024, 8, 18), 1, "leave", "summer leave"),
    ("eng-na", date(2024, 12, 16), date(2024, 12, 31), 1, "leave", "winter leave"),
    ("data", date(2025, 4, 14), date(2025, 4, 18), 1, "other", "factory endurance test"),
    ("eng-eu", date(2025, 8, 4), date(2025, 8, 17), 1, "leave", "summer leave"),
    ("parts", date(2025, 6, 2), date(2025, 6, 6), 1, "other", "parts training in Weissach"),
)
# Petit Le Mans 2023 as it was delivered (illustrative): JDC-Miller's parts truck came late.
DELIVERIES = (
    ("5", "engineer", 1, True, ""),
    ("5", "parts_specialist", 1, True, ""),
    ("5", "data_specialist", 1, True, ""),
    ("5", "parts_truck", 1, True, ""),
    ("85", "engineer", 1, True, ""),
    ("85", "parts_specialist", 1, True, ""),
    ("85", "data_specialist", 1, True, ""),
    ("85", "parts_truck", 1, False, "Arrived a day late, after first practice."),
)


def load_motorsport(session: Session) -> dict[str, int]:
    """Build the customer racing world in the caller's transaction. Returns counts."""
    now = datetime(2023, 11, 10, 9, tzinfo=UTC)
    series = {
        code: motorsport_models.Championship(
            code=code, name=name, strategic_weight=weight, max_customer_cars=cap, description=""
        )
        for code, name, weight, cap in SERIES
    }
    session.add_all(series.values())
    session.flush()
    seasons = _seasons(session, series)
    teams = {
        t.code: motorsport_models.CustomerTeam(
            code=t.code,
            name=t.name,
            country=t.country,
            base_region=t.base_region,
            priority=TEAM_PRIORITY.get(t.code, 1),
        )
        for t in calendars.TEAMS
    }
    session.add_all(teams.values())
    session.add(
        motorsport_models.GridPolicy(
            default_max_cars=2, win_bonus=3, podium_bonus=1, updated_at=now
        )
    )
    standard = motorsport_models.SupportStandard(
        version=1,
        effective_from=date(2023, 1, 1),
        name=DEFAULT_STANDARD.name,
        note="The standard of the programme's first seasons.",
        freight_lead_days=DEFAULT_STANDARD.freight.lead_days,
        freight_return_days=DEFAULT_STANDARD.freight.return_days,
        freight_transit_days=DEFAULT_STANDARD.freight.transit_days,
        freight_chaining=DEFAULT_STANDARD.freight.chaining,
        support_tests=DEFAULT_STANDARD.support_tests,
        created_at=now,
        created_by="demo",
    )
    standard.lines = [
        motorsport_models.SupportStandardLine(
            position=i,
            kind=str(line.kind),
            first_car=line.first_car,
            per_additional_car=line.per_additional_car,
            per_spare_car=line.per_spare_car,
            scope=str(line.scope),
            applies_at=str(line.applies_at),
            pool_basis=str(line.pool_basis),
        )
        for i, line in enumerate(DEFAULT_STANDARD.lines, start=1)
    ]
    session.add(standard)
    session.flush()
    entries = _cars_and_entries(session, teams, seasons, now)
    _support_site(session)
    session.flush()
    allocations = sum(allocate_entries(session, year=y, now=now) for y in (2023, 2024))
    _history(session, seasons, entries, now)
    for code, team, championship, kind, number, received, note in REQUESTS:
        session.add(
            motorsport_models.SupportRequest(
                code=code,
                team_id=teams[team].id,
                season_id=seasons[(championship, 2024)].id,
                kind=kind,
                base_region=teams[team].base_region,
                car_number=number,
                received_on=received,
                status="open",
                note=note,
                created_at=datetime.combine(received, time(9), tzinfo=UTC),
                created_by="demo",
                reasons=[],
            )
        )
    session.flush()
    return {
        "motorsport entries": len(entries),
        "motorsport requests": len(REQUESTS),
        "motorsport allocations": allocations,
    }


def _seasons(
    session: Session, series: dict[str, motorsport_models.Championship]
) -> dict[tuple[str, int], motorsport_models.Season]:
    calendars_by_season = {
        (calendars.WEC, 2023): (),
        (calendars.IMSA, 2023): calendars.IMSA_2023_HISTORY,
        **calendars.CALENDARS,
    }
    seasons = {}
    for (code, year), events in calendars_by_season.items():
        season = motorsport_models.Season(
            championship_id=series[code].id,
            year=year,
            calendar_source="builtin" if events else "manual",
        )
        session.add(season)
        session.flush()
        add_events(session, season, events)
        seasons[(code, year)] = season
    session.flush()
    return seasons


def _cars_and_entries(
    session: Session,
    teams: dict[str, motorsport_models.CustomerTeam],
    seasons: dict[tuple[str, int], motorsport_models.Season],
    now: datetime,
) -> dict[tuple[str, int], motorsport_models.TeamEntry]:
    entries = {}
    for serial, team, delivered, championship, number, region in CARS:
        chassis = motorsport_models.Chassis(
            serial=serial,
            team_id=teams[team].id,
            delivered_on=delivered,
            spare=False,
            notes="2023 delivery (serial and date illustrative).",
        )
        session.add(chassis)
        session.flush()
        for year in (2023, 2024):
            entry = motorsport_models.TeamEntry(
                team_id=teams[team].id,
                season_id=seasons[(championship, year)].id,
                car_number=number,
                spare=False,
                base_region=region,
                chassis_id=chassis.id,
                status="entered",
                created_at=now,
            )
            session.add(entry)
            entries[(number, year)] = entry
    session.flush()
    return entries


def _support_site(session: Session) -> None:
    """The support organisation as capacity: one pool per resource, units working around the
    clock, with their leave and other commitments as blocks."""
    site = Site(
        code=SITE_CODE,
        kind=SiteKind.MOTORSPORT,
        name="Porsche Motorsport customer racing",
        city="Weissach",
        time_zone=ZONE,
        description="Support resources of the customer racing programme: trackside "
        "engineers, data and parts specialists, parts trucks, freight kits, rebuild slots and "
        "key spares.",
    )
    site.hours = [SiteHours(weekday=d, opens_at=time(0), closes_at=time(0)) for d in range(7)]
    session.add(site)
    session.flush()
    units_by_pool: dict[str, list[Unit]] = {}
    for spec in demo_resource_pools():
        if spec.code == "data":
            spec = replace(spec, units=DATA_SPECIALISTS)
        pool = Pool(site_id=site.id, code=spec.code, kind=str(spec.kind), name=spec.name)
        session.add(pool)
        session.flush()
        session.add(
            motorsport_models.SupportPool(pool_id=pool.id, region=spec.region, description="")
        )
        where = f" {_region_tag(spec.region)}" if spec.region else ""
        units = []
        for number in range(1, spec.units + 1):
            unit = Unit(
                site_id=site.id,
                label=f"{kind_label(spec.kind).capitalize()}{where} {number:02d}",
                kind=str(spec.kind),
                attributes={"region": spec.region} if spec.region else {},
            )
            unit.pools = [pool]
            unit.shifts = [
                UnitShift(weekday=d, starts_at=time(0), ends_at=time(0)) for d in range(7)
            ]
            session.add(unit)
            units.append(unit)
        units_by_pool[spec.code] = units
    session.flush()
    zone = ZoneInfo(ZONE)
    for code, first, last, count, kind, reason in BLOCKS:
        for unit in units_by_pool[code][-count:]:
            session.add(
                Block(
                    site_id=site.id,
                    unit_id=unit.id,
                    kind=kind,
                    starts_at=datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
                    ends_at=datetime.combine(
                        last + timedelta(days=1), time(), tzinfo=zone
                    ).astimezone(UTC),
                    reason=reason,
                )
            )


def _region_tag(region: str) -> str:
    return {calendars.EUROPE: "EU", calendars.NORTH_AMERICA: "NA"}.get(region, region)


def _history(
    session: Session,
    seasons: dict[tuple[str, int], motorsport_models.Season],
    entries: dict[tuple[str, int], motorsport_models.TeamEntry],
    now: datetime,
) -> None:
    petit_le_mans = session.scalars(
        select(motorsport_models.RaceEvent).where(
            motorsport_models.RaceEvent.season_id == seasons[(calendars.IMSA, 2023)].id
        )
    ).one()
    session.add(
        motorsport_models.RaceResult(
            entry_id=entries[("5", 2023)].id,
            event_id=petit_le_mans.id,
            position=3,
            note="First podium of a customer LMDh in IMSA.",
            recorded_at=now,
        )
    )
    for number, kind, delivered, on_time, note in DELIVERIES:
        session.add(
            motorsport_models.SupportDelivery(
                entry_id=entries[(number, 2023)].id,
                event_id=petit_le_mans.id,
                kind=kind,
                promised=1,
                delivered=delivered,
                on_time=on_time,
                note=note,
                recorded_at=now,
                recorded_by="demo",
            )
        )
