"""Built-in calendars, the teams' history, and the CSV / ICS parsers."""

from __future__ import annotations

from datetime import date

import pytest

from paddock.motorsport.engine.calendars import (
    ALL_EVENTS,
    ASIA,
    DELIVERIES,
    ENTRIES_2024,
    EUROPE,
    IMSA,
    IMSA_2024,
    IMSA_2025,
    MIDDLE_EAST,
    NORTH_AMERICA,
    RESULTS,
    SOUTH_AMERICA,
    WEC,
    WEC_2024,
    WEC_2025,
    events_between,
    parse_season_csv,
    parse_season_ics,
    season_events,
)


def test_calendars_have_the_rounds_of_the_brief() -> None:
    for wec in (WEC_2024, WEC_2025):
        assert [e.name for e in wec] == [
            "Prologue",
            "Qatar",
            "Imola",
            "Spa",
            "Le Mans",
            "São Paulo",
            "COTA",
            "Fuji",
            "Bahrain",
        ]
        assert [e.is_test for e in wec] == [True] + [False] * 8
    assert len(IMSA_2024) == len(IMSA_2025) == 9
    assert season_events(WEC, 2025) is WEC_2025
    assert len({e.code for e in ALL_EVENTS}) == len(ALL_EVENTS) == 36


def test_dates_regions_and_race_weeks() -> None:
    le_mans = [e for e in WEC_2024 if e.name == "Le Mans"][0]
    assert (le_mans.race_start_date, le_mans.race_end_date) == (
        date(2024, 6, 15),
        date(2024, 6, 16),
    )
    imola = [e for e in WEC_2024 if e.name == "Imola"][0]
    assert (imola.race_week_start_date, imola.race_week_end_date) == (
        date(2024, 4, 17),
        date(2024, 4, 21),
    )
    regions = {e.name: e.region for e in WEC_2024}
    assert regions["Qatar"] == regions["Bahrain"] == MIDDLE_EAST
    assert regions["São Paulo"] == SOUTH_AMERICA
    assert regions["COTA"] == NORTH_AMERICA and regions["Fuji"] == ASIA
    assert {e.region for e in IMSA_2024 + IMSA_2025} == {NORTH_AMERICA}
    prologue_2025 = WEC_2025[0]
    assert (prologue_2025.race_start_date, prologue_2025.race_end_date) == (
        date(2025, 2, 21),
        date(2025, 2, 22),
    )


def test_same_weekend_clashes_of_2024() -> None:
    imola_week = [e for e in WEC_2024 if e.name == "Imola"][0]
    clashing = events_between(
        IMSA_2024, imola_week.race_week_start_date, imola_week.race_week_end_date
    )
    assert [e.name for e in clashing] == ["Long Beach"]
    spa = [e for e in WEC_2024 if e.name == "Spa"][0]
    assert [
        e.name for e in events_between(IMSA_2024, spa.race_week_start_date, spa.race_week_end_date)
    ] == ["Laguna Seca"]
    imola_2025 = [e for e in WEC_2025 if e.name == "Imola"][0]
    assert (
        events_between(IMSA_2025, imola_2025.race_week_start_date, imola_2025.race_week_end_date)
        == ()
    )


def test_flyaway_is_relative_to_the_team_base() -> None:
    cota = [e for e in WEC_2024 if e.name == "COTA"][0]
    assert cota.is_flyaway_for(EUROPE) and not cota.is_flyaway_for(NORTH_AMERICA)
    assert not [e for e in WEC_2024 if e.name == "Spa"][0].is_flyaway_for(EUROPE)


def test_history_of_the_customer_programme() -> None:
    assert sum(d.cars for d in DELIVERIES) == 4
    assert {d.team_code: d.cars for d in DELIVERIES} == {"proton": 2, "jota": 1, "jdc-miller": 1}
    wec = sorted((e.team_code, e.car_number) for e in ENTRIES_2024 if e.championship == WEC)
    assert wec == [("jota", "12"), ("jota", "38"), ("proton", "99")]
    imsa = sorted((e.team_code, e.car_number) for e in ENTRIES_2024 if e.championship == IMSA)
    assert imsa == [("jdc-miller", "85"), ("proton", "5")]
    assert {(r.team_code, r.season, r.round_name, r.position) for r in RESULTS} == {
        ("proton", 2023, "Petit Le Mans", 3),
        ("jota", 2024, "6 Hours of Spa-Francorchamps", 1),
    }


CSV = """championship,season,round,venue,country,region,start_date,end_date,flyaway
WEC,2026,Prologue,Lusail,Qatar,Middle East,2026-02-20,2026-02-21,
WEC,2026,Qatar 1812 km,Lusail,Qatar,Middle East,2026-02-28,,yes
WEC,2026,6 Hours of Imola,Imola,Italy,Europe,2026-04-19,2026-04-19,no
"""


def test_parse_csv() -> None:
    prologue, qatar, imola = parse_season_csv(CSV)
    assert prologue.is_test and prologue.flyaway is None
    assert (prologue.race_start_date, prologue.race_end_date) == (
        date(2026, 2, 20),
        date(2026, 2, 21),
    )
    assert qatar.race_end_date == qatar.race_start_date and qatar.flyaway is True
    assert qatar.is_flyaway_for(MIDDLE_EAST)  # the explicit flag wins
    assert imola.flyaway is False and imola.season == 2026 and imola.region == EUROPE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("championship,season,round\nWEC,2026,X\n", r"line 1: missing column\(s\) venue"),
        (
            CSV.replace("2026-04-19,2026-04-19", "2026-04-31,2026-04-19"),
            r"line 4: start_date '2026-04-31' is not a date",
        ),
        (
            CSV.replace("2026-04-19,2026-04-19", "2026-04-19,2026-04-18"),
            r"line 4: end_date 2026-04-18 is before start_date 2026-04-19",
        ),
        (CSV.replace(",yes", ",maybe"), r"line 3: flyaway 'maybe' is not yes/no"),
        (CSV.replace("WEC,2026,6 Hours", "WEC,26x,6 Hours"), r"line 4: season '26x' is not a year"),
        (CSV.replace("Imola,Italy,Europe", "Imola,Italy,"), r"line 4: empty region"),
    ],
)
def test_parse_csv_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_season_csv(text)


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1@test
SUMMARY:6 Hours of Fuji
LOCATION:Fuji Speedway, Japan
DTSTART;VALUE=DATE:20260927
DTEND;VALUE=DATE:20260928
END:VEVENT
BEGIN:VEVENT
UID:2@test
SUMMARY:Lone Star Le Mans
LOCATION:Circuit of the Americas, Austin, USA
X-PADDOCK-REGION:North America
DTSTART:20260906T150000Z
DTEND:20260906T210000Z
END:VEVENT
END:VCALENDAR
"""


def test_parse_ics() -> None:
    cota, fuji = parse_season_ics(ICS, championship=WEC)
    assert (fuji.race_start_date, fuji.race_end_date) == (date(2026, 9, 27), date(2026, 9, 27))
    assert fuji.region == ASIA and fuji.country == "Japan" and fuji.venue == "Fuji Speedway"
    assert cota.venue == "Circuit of the Americas, Austin" and cota.region == NORTH_AMERICA
    assert cota.race_start_date == cota.race_end_date == date(2026, 9, 6)
    assert cota.season == 2026 and cota.championship == WEC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ICS.replace("DTSTART;VALUE=DATE:20260927\n", ""),
            r"event 1 \('6 Hours of Fuji'\): missing DTSTART",
        ),
        (
            ICS.replace("Fuji Speedway, Japan", "Fuji Speedway, Atlantis"),
            r"event 1 \('6 Hours of Fuji'\): unknown region for country 'Atlantis'",
        ),
        (ICS.replace("SUMMARY:Lone Star Le Mans\n", ""), r"event 2: missing SUMMARY"),
        ("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "no VEVENT"),
        ("not a calendar", "not an iCalendar file"),
    ],
)
def test_parse_ics_errors_name_the_event(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_season_ics(text, championship=WEC)
