"""Championship calendars, the customer teams' history, and calendar file parsers.

Dates, results and entries come from the domain brief (shared/domain/BRIEF.md, "Public facts
for a realistic model": FIA WEC 2024/2025, IMSA GTP 2024/2025, customer 963 programme).
Everything here is plain frozen data so that a database loader can import it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import icalendar

WEC = "WEC"
IMSA = "IMSA"

EUROPE = "Europe"
NORTH_AMERICA = "North America"
SOUTH_AMERICA = "South America"
MIDDLE_EAST = "Middle East"
ASIA = "Asia"

# Trackside crews arrive this many days before the first race day (build-up, scrutineering,
# practice, qualifying). Overridable per event.
DEFAULT_SETUP_DAYS = 4


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One round (or official test) of a championship season.

    `flyaway` is an explicit flag from the source; None means "relative to the team's base
    region" (see `is_flyaway_for`).
    """

    championship: str
    season: int
    round_name: str
    venue: str
    country: str
    region: str
    race_start_date: date
    race_end_date: date
    short_name: str = ""
    is_test: bool = False
    setup_days: int = DEFAULT_SETUP_DAYS
    flyaway: bool | None = None
    # Days after the race the crew is still held (tear-down, travel home); 0 by default.
    travel_days: int = 0

    def __post_init__(self) -> None:
        if self.race_end_date < self.race_start_date:
            raise ValueError(f"{self.round_name}: race ends before it starts")
        if self.setup_days < 0:
            raise ValueError(f"{self.round_name}: setup_days must be >= 0")
        if self.travel_days < 0:
            raise ValueError(f"{self.round_name}: travel_days must be >= 0")
        if not self.championship or not self.round_name:
            raise ValueError("an event needs a championship and a round name")

    @property
    def name(self) -> str:
        return self.short_name or self.round_name

    @property
    def code(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
        return f"{self.championship}-{self.season}-{slug}"

    @property
    def race_week_start_date(self) -> date:
        return self.race_start_date - timedelta(days=self.setup_days)

    @property
    def race_week_end_date(self) -> date:
        return self.race_end_date + timedelta(days=self.travel_days)

    def is_flyaway_for(self, base_region: str) -> bool:
        """Overseas from a team based in `base_region`, so its freight ships weeks ahead."""
        if self.flyaway is not None:
            return self.flyaway
        return self.region != base_region


def _event(
    championship: str,
    season: int,
    round_name: str,
    short_name: str,
    venue: str,
    country: str,
    region: str,
    race_start: str,
    race_end: str | None = None,
    *,
    is_test: bool = False,
    setup_days: int = DEFAULT_SETUP_DAYS,
) -> CalendarEvent:
    start = date.fromisoformat(race_start)
    return CalendarEvent(
        championship=championship,
        season=season,
        round_name=round_name,
        venue=venue,
        country=country,
        region=region,
        race_start_date=start,
        race_end_date=date.fromisoformat(race_end) if race_end else start,
        short_name=short_name,
        is_test=is_test,
        setup_days=setup_days,
    )


# Le Mans week starts earlier: scrutineering and the test day precede the race week
# (assumption for the model; the brief gives only the race dates).
_LE_MANS_SETUP_DAYS = 7

_LUSAIL = ("Lusail International Circuit", "Qatar", MIDDLE_EAST)
_IMOLA = ("Autodromo Enzo e Dino Ferrari, Imola", "Italy", EUROPE)
_SPA = ("Circuit de Spa-Francorchamps", "Belgium", EUROPE)
_LE_MANS = ("Circuit de la Sarthe, Le Mans", "France", EUROPE)
_INTERLAGOS = ("Autódromo José Carlos Pace, São Paulo", "Brazil", SOUTH_AMERICA)
_COTA = ("Circuit of the Americas, Austin", "USA", NORTH_AMERICA)
_FUJI = ("Fuji Speedway", "Japan", ASIA)
_SAKHIR = ("Bahrain International Circuit, Sakhir", "Bahrain", MIDDLE_EAST)

# FIA WEC 2024 and 2025 with the prologue tests (source: BRIEF.md, "FIA WEC 2024/2025").
WEC_2024: tuple[CalendarEvent, ...] = (
    _event(WEC, 2024, "Prologue", "Prologue", *_LUSAIL, "2024-02-24", "2024-02-25", is_test=True),
    _event(WEC, 2024, "Qatar 1812 km", "Qatar", *_LUSAIL, "2024-03-02"),
    _event(WEC, 2024, "6 Hours of Imola", "Imola", *_IMOLA, "2024-04-21"),
    _event(WEC, 2024, "6 Hours of Spa-Francorchamps", "Spa", *_SPA, "2024-05-11"),
    _event(
        WEC,
        2024,
        "24 Hours of Le Mans",
        "Le Mans",
        *_LE_MANS,
        "2024-06-15",
        "2024-06-16",
        setup_days=_LE_MANS_SETUP_DAYS,
    ),
    _event(WEC, 2024, "6 Hours of São Paulo", "São Paulo", *_INTERLAGOS, "2024-07-14"),
    _event(WEC, 2024, "Lone Star Le Mans", "COTA", *_COTA, "2024-09-01"),
    _event(WEC, 2024, "6 Hours of Fuji", "Fuji", *_FUJI, "2024-09-15"),
    _event(WEC, 2024, "8 Hours of Bahrain", "Bahrain", *_SAKHIR, "2024-11-02"),
)

WEC_2025: tuple[CalendarEvent, ...] = (
    _event(WEC, 2025, "Prologue", "Prologue", *_LUSAIL, "2025-02-21", "2025-02-22", is_test=True),
    _event(WEC, 2025, "Qatar 1812 km", "Qatar", *_LUSAIL, "2025-02-28"),
    _event(WEC, 2025, "6 Hours of Imola", "Imola", *_IMOLA, "2025-04-20"),
    _event(WEC, 2025, "6 Hours of Spa-Francorchamps", "Spa", *_SPA, "2025-05-10"),
    _event(
        WEC,
        2025,
        "24 Hours of Le Mans",
        "Le Mans",
        *_LE_MANS,
        "2025-06-14",
        "2025-06-15",
        setup_days=_LE_MANS_SETUP_DAYS,
    ),
    _event(WEC, 2025, "6 Hours of São Paulo", "São Paulo", *_INTERLAGOS, "2025-07-13"),
    _event(WEC, 2025, "Lone Star Le Mans", "COTA", *_COTA, "2025-09-07"),
    _event(WEC, 2025, "6 Hours of Fuji", "Fuji", *_FUJI, "2025-09-28"),
    _event(WEC, 2025, "8 Hours of Bahrain", "Bahrain", *_SAKHIR, "2025-11-08"),
)

_DAYTONA = ("Daytona International Speedway", "USA", NORTH_AMERICA)
_SEBRING = ("Sebring International Raceway", "USA", NORTH_AMERICA)
_LONG_BEACH = ("Long Beach street circuit", "USA", NORTH_AMERICA)
_LAGUNA = ("WeatherTech Raceway Laguna Seca, Monterey", "USA", NORTH_AMERICA)
_DETROIT = ("Detroit street circuit", "USA", NORTH_AMERICA)
_GLEN = ("Watkins Glen International", "USA", NORTH_AMERICA)
_ROAD_AMERICA = ("Road America, Elkhart Lake", "USA", NORTH_AMERICA)
_INDY = ("Indianapolis Motor Speedway", "USA", NORTH_AMERICA)
_ROAD_ATLANTA = ("Michelin Raceway Road Atlanta, Braselton", "USA", NORTH_AMERICA)

# IMSA WeatherTech SportsCar Championship, GTP rounds (source: BRIEF.md, "IMSA 2024/2025").
IMSA_2024: tuple[CalendarEvent, ...] = (
    _event(IMSA, 2024, "Rolex 24 at Daytona", "Daytona", *_DAYTONA, "2024-01-27", "2024-01-28"),
    _event(IMSA, 2024, "12 Hours of Sebring", "Sebring", *_SEBRING, "2024-03-16"),
    _event(
        IMSA, 2024, "Grand Prix of Long Beach (100 min)", "Long Beach", *_LONG_BEACH, "2024-04-20"
    ),
    _event(IMSA, 2024, "Laguna Seca 2h40", "Laguna Seca", *_LAGUNA, "2024-05-12"),
    _event(IMSA, 2024, "Detroit (100 min)", "Detroit", *_DETROIT, "2024-06-01"),
    _event(IMSA, 2024, "6 Hours of The Glen", "Watkins Glen", *_GLEN, "2024-06-23"),
    _event(IMSA, 2024, "Road America 2h40", "Road America", *_ROAD_AMERICA, "2024-08-04"),
    _event(IMSA, 2024, "Indianapolis 6 Hours", "Indianapolis", *_INDY, "2024-09-22"),
    _event(IMSA, 2024, "Petit Le Mans (10 h)", "Petit Le Mans", *_ROAD_ATLANTA, "2024-10-12"),
)

IMSA_2025: tuple[CalendarEvent, ...] = (
    # The brief lists Daytona as 23-26 Jan: practice from the 23rd, the 24 hours on 25-26 Jan.
    _event(
        IMSA,
        2025,
        "Rolex 24 at Daytona",
        "Daytona",
        *_DAYTONA,
        "2025-01-25",
        "2025-01-26",
        setup_days=6,
    ),
    _event(IMSA, 2025, "12 Hours of Sebring", "Sebring", *_SEBRING, "2025-03-15"),
    _event(
        IMSA, 2025, "Grand Prix of Long Beach (100 min)", "Long Beach", *_LONG_BEACH, "2025-04-12"
    ),
    _event(IMSA, 2025, "Laguna Seca 2h40", "Laguna Seca", *_LAGUNA, "2025-05-11"),
    _event(IMSA, 2025, "Detroit (100 min)", "Detroit", *_DETROIT, "2025-05-31"),
    _event(IMSA, 2025, "6 Hours of The Glen", "Watkins Glen", *_GLEN, "2025-06-29"),
    _event(IMSA, 2025, "Road America 2h40", "Road America", *_ROAD_AMERICA, "2025-08-03"),
    _event(IMSA, 2025, "Indianapolis 6 Hours", "Indianapolis", *_INDY, "2025-09-21"),
    _event(IMSA, 2025, "Petit Le Mans (10 h)", "Petit Le Mans", *_ROAD_ATLANTA, "2025-10-11"),
)

# The 2023 history needs only the round of the article: Proton's P3 at Petit Le Mans, 14 Oct
# 2023 (BRIEF.md, "Proton finished 3rd at Petit Le Mans (2023)"; the date is public record).
IMSA_2023_HISTORY: tuple[CalendarEvent, ...] = (
    _event(IMSA, 2023, "Petit Le Mans (10 h)", "Petit Le Mans", *_ROAD_ATLANTA, "2023-10-14"),
)

CALENDARS: dict[tuple[str, int], tuple[CalendarEvent, ...]] = {
    (WEC, 2024): WEC_2024,
    (WEC, 2025): WEC_2025,
    (IMSA, 2024): IMSA_2024,
    (IMSA, 2025): IMSA_2025,
}
ALL_EVENTS: tuple[CalendarEvent, ...] = tuple(
    sorted((e for events in CALENDARS.values() for e in events), key=lambda e: e.race_start_date)
)


def season_events(championship: str, season: int) -> tuple[CalendarEvent, ...]:
    """The built-in calendar of one championship season (KeyError if unknown)."""
    return CALENDARS[(championship, season)]


# --- Customer teams and their history (source: BRIEF.md, "Customer 963 programme") ---


@dataclass(frozen=True, slots=True)
class Team:
    code: str
    name: str
    country: str
    base_region: str


@dataclass(frozen=True, slots=True)
class Delivery:
    team_code: str
    year: int
    cars: int


@dataclass(frozen=True, slots=True)
class TeamEntry:
    """A customer car entered for a season; a spare car is a chassis that does not race."""

    team_code: str
    championship: str
    season: int
    base_region: str
    car_number: str | None = None
    spare: bool = False


@dataclass(frozen=True, slots=True)
class RaceResult:
    team_code: str
    championship: str
    season: int
    round_name: str
    car_number: str
    position: int


TEAMS: tuple[Team, ...] = (
    Team("jota", "Hertz Team Jota", "United Kingdom", EUROPE),
    Team("proton", "Proton Competition", "Germany", EUROPE),
    Team("jdc-miller", "JDC-Miller MotorSports", "USA", NORTH_AMERICA),
)

DELIVERIES: tuple[Delivery, ...] = (
    Delivery("proton", 2023, 2),
    Delivery("jota", 2023, 1),
    Delivery("jdc-miller", 2023, 1),
)

# Proton's IMSA car runs from a North American base, its WEC car from Europe.
ENTRIES_2024: tuple[TeamEntry, ...] = (
    TeamEntry("jota", WEC, 2024, EUROPE, "12"),
    TeamEntry("jota", WEC, 2024, EUROPE, "38"),
    TeamEntry("proton", WEC, 2024, EUROPE, "99"),
    TeamEntry("proton", IMSA, 2024, NORTH_AMERICA, "5"),
    TeamEntry("jdc-miller", IMSA, 2024, NORTH_AMERICA, "85"),
)

RESULTS: tuple[RaceResult, ...] = (
    RaceResult("proton", IMSA, 2023, "Petit Le Mans", "5", 3),
    RaceResult("jota", WEC, 2024, "6 Hours of Spa-Francorchamps", "12", 1),
)


# --- Parsers ---

CSV_COLUMNS = (
    "championship",
    "season",
    "round",
    "venue",
    "country",
    "region",
    "start_date",
    "end_date",
)
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}

# Country -> region, for ICS files that carry only "venue, country" as their location.
COUNTRY_REGIONS: dict[str, str] = {
    "Qatar": MIDDLE_EAST,
    "Bahrain": MIDDLE_EAST,
    "Saudi Arabia": MIDDLE_EAST,
    "United Arab Emirates": MIDDLE_EAST,
    "Italy": EUROPE,
    "Belgium": EUROPE,
    "France": EUROPE,
    "Portugal": EUROPE,
    "Germany": EUROPE,
    "United Kingdom": EUROPE,
    "Spain": EUROPE,
    "Austria": EUROPE,
    "Netherlands": EUROPE,
    "Brazil": SOUTH_AMERICA,
    "Argentina": SOUTH_AMERICA,
    "USA": NORTH_AMERICA,
    "United States": NORTH_AMERICA,
    "Canada": NORTH_AMERICA,
    "Mexico": NORTH_AMERICA,
    "Japan": ASIA,
    "China": ASIA,
    "Singapore": ASIA,
}


def _is_test_round(round_name: str) -> bool:
    lowered = round_name.lower()
    return "prologue" in lowered or "test" in lowered


class CalendarImportError(ValueError):
    """Every problem found in a calendar file, each naming its line (CSV) or event (ICS)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_season_csv(text: str) -> tuple[CalendarEvent, ...]:
    """Parse `championship,season,round,venue,country,region,start_date,end_date[,flyaway]`
    with optional `setup_days` and `travel_days` columns.

    Dates are ISO (YYYY-MM-DD); `flyaway` is optional (true/false/yes/no/1/0 or empty).
    Rounds named "Prologue" or "... test" are official tests. Every bad line is reported
    (CalendarImportError, a ValueError), each error naming its line.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise CalendarImportError([f"line 1: missing column(s) {', '.join(missing)}"])
    events: list[CalendarEvent] = []
    errors: list[str] = []
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        try:
            events.append(_csv_event(values, line))
        except ValueError as error:
            errors.append(str(error))
    if errors:
        raise CalendarImportError(errors)
    return tuple(events)


def _csv_event(values: dict[str, str], line: int) -> CalendarEvent:
    empty = [c for c in CSV_COLUMNS if c not in ("end_date",) and not values.get(c)]
    if empty:
        raise ValueError(f"line {line}: empty {', '.join(empty)}")
    try:
        season = int(values["season"])
    except ValueError:
        raise ValueError(f"line {line}: season {values['season']!r} is not a year") from None
    start = _parse_date(values["start_date"], f"line {line}: start_date")
    end = (
        _parse_date(values["end_date"], f"line {line}: end_date")
        if values.get("end_date")
        else start
    )
    if end < start:
        raise ValueError(f"line {line}: end_date {end} is before start_date {start}")
    flyaway = _parse_flag(values.get("flyaway", ""), f"line {line}: flyaway")
    setup = _parse_days(values.get("setup_days", ""), DEFAULT_SETUP_DAYS, line, "setup_days")
    travel = _parse_days(values.get("travel_days", ""), 0, line, "travel_days")
    return CalendarEvent(
        championship=values["championship"],
        season=season,
        round_name=values["round"],
        venue=values["venue"],
        country=values["country"],
        region=values["region"],
        race_start_date=start,
        race_end_date=end,
        is_test=_is_test_round(values["round"]),
        flyaway=flyaway,
        setup_days=setup,
        travel_days=travel,
    )


def _parse_days(value: str, default: int, line: int, what: str) -> int:
    if not value:
        return default
    if not value.isdigit() or int(value) > 60:
        raise ValueError(f"line {line}: {what} {value!r} is not a number of days (0-60)")
    return int(value)


def parse_season_ics(
    data: str | bytes, *, championship: str, season: int | None = None
) -> tuple[CalendarEvent, ...]:
    """Parse an iCalendar file: one VEVENT per round.

    SUMMARY is the round name; LOCATION is "venue, country"; the region comes from an
    `X-PADDOCK-REGION` property or from the country (COUNTRY_REGIONS). All-day DTEND is
    exclusive, as RFC 5545 says. The season defaults to the year of the first race day.
    Every bad event is reported (CalendarImportError), each error naming its event.
    """
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as error:
        raise CalendarImportError([f"not an iCalendar file: {error}"]) from None
    events: list[CalendarEvent] = []
    errors: list[str] = []
    for number, component in enumerate(calendar.walk("VEVENT"), start=1):
        try:
            events.append(_ics_event(component, number, championship, season))
        except ValueError as error:
            errors.append(str(error))
    if errors:
        raise CalendarImportError(errors)
    if not events:
        raise CalendarImportError(["no VEVENT in the iCalendar file"])
    return tuple(sorted(events, key=lambda e: e.race_start_date))


def _ics_event(
    component: icalendar.cal.Component, number: int, championship: str, season: int | None
) -> CalendarEvent:
    summary = str(component.get("SUMMARY", "")).strip()
    where = f"event {number} ({summary!r})" if summary else f"event {number}"
    if not summary:
        raise ValueError(f"{where}: missing SUMMARY (round name)")
    start_prop = component.get("DTSTART")
    if start_prop is None:
        raise ValueError(f"{where}: missing DTSTART")
    start_value = start_prop.dt
    start = start_value.date() if isinstance(start_value, datetime) else start_value
    end_prop = component.get("DTEND")
    if end_prop is None:
        end = start
    elif isinstance(end_prop.dt, datetime):
        end = end_prop.dt.date()
    else:
        end = end_prop.dt - timedelta(days=1)
    if end < start:
        raise ValueError(f"{where}: DTEND is before DTSTART")
    location = str(component.get("LOCATION", "")).strip()
    if not location:
        raise ValueError(f'{where}: missing LOCATION ("venue, country")')
    venue, _, country = location.rpartition(",")
    venue, country = venue.strip() or country.strip(), country.strip()
    region = str(component.get("X-PADDOCK-REGION", "")).strip() or COUNTRY_REGIONS.get(country, "")
    if not region:
        raise ValueError(f"{where}: unknown region for country {country!r}; add X-PADDOCK-REGION")
    return CalendarEvent(
        championship=championship,
        season=season if season is not None else start.year,
        round_name=summary,
        venue=venue,
        country=country,
        region=region,
        race_start_date=start,
        race_end_date=end,
        is_test=_is_test_round(summary),
    )


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def _parse_flag(value: str, what: str) -> bool | None:
    lowered = value.lower()
    if not lowered:
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{what} {value!r} is not yes/no")


def events_between(
    events: Iterable[CalendarEvent], start: date, end: date
) -> tuple[CalendarEvent, ...]:
    """Events whose race week overlaps [start, end]."""
    return tuple(
        e for e in events if e.race_week_start_date <= end and e.race_week_end_date >= start
    )
