"""The demo dealer directory: about 200 dealers across four US regions (the brief's "about
200 dealers"), sized for their share of test drives, and the demo accounts (centre staff, dealer
staff, one API token). Demo accounts share one password (see README): demo only."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.models import ApiToken, Role, User
from paddock.capacity.models import Site
from paddock.dealers.models import Dealer

DEMO_PASSWORD = "demo-password"  # demo only: documented in README, never for real accounts
DEMO_TOKEN = "pdk_demo_d-atl-001"  # demo only: an API token of dealer D-ATL-001
DEALER_SHARE = 0.15

# (code, city, state, dealers there) per region; West dealers send guests to Los Angeles.
# fmt: off
CITIES: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "Northeast": (
        ("NYC", "New York", "NY", 4), ("GCY", "Garden City", "NY", 2),
        ("WPL", "White Plains", "NY", 2), ("ALB", "Albany", "NY", 1), ("ROC", "Rochester", "NY", 1),
        ("BUF", "Buffalo", "NY", 1), ("SYR", "Syracuse", "NY", 1), ("PRN", "Princeton", "NJ", 2),
        ("PAR", "Paramus", "NJ", 2), ("MOR", "Morristown", "NJ", 2), ("RBK", "Red Bank", "NJ", 1),
        ("CHH", "Cherry Hill", "NJ", 1), ("PHL", "Philadelphia", "PA", 3),
        ("PIT", "Pittsburgh", "PA", 2), ("HBG", "Harrisburg", "PA", 1),
        ("ABE", "Allentown", "PA", 1), ("ERI", "Erie", "PA", 1), ("BOS", "Boston", "MA", 3),
        ("NWD", "Norwood", "MA", 1), ("WOR", "Worcester", "MA", 1), ("HYA", "Hyannis", "MA", 1),
        ("PVD", "Providence", "RI", 1), ("GRN", "Greenwich", "CT", 2), ("HFD", "Hartford", "CT", 1),
        ("HVN", "New Haven", "CT", 1), ("MHT", "Manchester", "NH", 1), ("PWM", "Portland", "ME", 1),
        ("BTV", "Burlington", "VT", 1),
    ),
    "Southeast": (
        ("ATL", "Atlanta", "GA", 4), ("MGE", "Marietta", "GA", 1), ("SAV", "Savannah", "GA", 1),
        ("AGS", "Augusta", "GA", 1), ("CLT", "Charlotte", "NC", 2), ("RDU", "Raleigh", "NC", 2),
        ("GSO", "Greensboro", "NC", 1), ("AVL", "Asheville", "NC", 1),
        ("CHS", "Charleston", "SC", 1), ("GSP", "Greenville", "SC", 1),
        ("CAE", "Columbia", "SC", 1), ("MIA", "Miami", "FL", 3),
        ("FLL", "Fort Lauderdale", "FL", 2), ("PBI", "West Palm Beach", "FL", 2),
        ("ORL", "Orlando", "FL", 2), ("TPA", "Tampa", "FL", 2), ("SRQ", "Sarasota", "FL", 1),
        ("JAX", "Jacksonville", "FL", 1), ("APF", "Naples", "FL", 1),
        ("RSW", "Fort Myers", "FL", 1), ("TLH", "Tallahassee", "FL", 1),
        ("BHM", "Birmingham", "AL", 1), ("HSV", "Huntsville", "AL", 1), ("MOB", "Mobile", "AL", 1),
        ("BNA", "Nashville", "TN", 2), ("MEM", "Memphis", "TN", 1), ("TYS", "Knoxville", "TN", 1),
        ("CHA", "Chattanooga", "TN", 1), ("SDF", "Louisville", "KY", 1),
        ("LEX", "Lexington", "KY", 1), ("JAN", "Jackson", "MS", 1), ("RIC", "Richmond", "VA", 1),
        ("ORF", "Virginia Beach", "VA", 1), ("TYC", "Tysons", "VA", 2),
        ("BWI", "Baltimore", "MD", 2), ("BET", "Bethesda", "MD", 1), ("ILG", "Wilmington", "DE", 1),
    ),
    "Central": (
        ("CHI", "Chicago", "IL", 4), ("NBK", "Northbrook", "IL", 1), ("NPV", "Naperville", "IL", 1),
        ("STL", "St. Louis", "MO", 2), ("MCI", "Kansas City", "MO", 2), ("DET", "Detroit", "MI", 1),
        ("TRY", "Troy", "MI", 1), ("BFH", "Bloomfield Hills", "MI", 1),
        ("GRR", "Grand Rapids", "MI", 1), ("CLE", "Cleveland", "OH", 2),
        ("CMH", "Columbus", "OH", 2), ("CVG", "Cincinnati", "OH", 2), ("DAY", "Dayton", "OH", 1),
        ("TOL", "Toledo", "OH", 1), ("IND", "Indianapolis", "IN", 2),
        ("FWA", "Fort Wayne", "IN", 1), ("MKE", "Milwaukee", "WI", 2), ("MSN", "Madison", "WI", 1),
        ("MSP", "Minneapolis", "MN", 2), ("DSM", "Des Moines", "IA", 1), ("OMA", "Omaha", "NE", 1),
        ("ICT", "Wichita", "KS", 1), ("OKC", "Oklahoma City", "OK", 1), ("TUL", "Tulsa", "OK", 1),
        ("DAL", "Dallas", "TX", 3), ("PLN", "Plano", "TX", 1), ("FTW", "Fort Worth", "TX", 1),
        ("HOU", "Houston", "TX", 3), ("WDL", "The Woodlands", "TX", 1), ("AUS", "Austin", "TX", 2),
        ("SAT", "San Antonio", "TX", 2), ("ELP", "El Paso", "TX", 1),
        ("MSY", "New Orleans", "LA", 1), ("BTR", "Baton Rouge", "LA", 1),
        ("LIT", "Little Rock", "AR", 1), ("FSD", "Sioux Falls", "SD", 1), ("FAR", "Fargo", "ND", 1),
    ),
    "West": (
        ("LAX", "Los Angeles", "CA", 3), ("BEV", "Beverly Hills", "CA", 1),
        ("SMO", "Santa Monica", "CA", 1), ("PAS", "Pasadena", "CA", 1),
        ("TOA", "Torrance", "CA", 1), ("NPB", "Newport Beach", "CA", 2), ("IRV", "Irvine", "CA", 1),
        ("SAN", "San Diego", "CA", 2), ("PSP", "Palm Springs", "CA", 1),
        ("SBA", "Santa Barbara", "CA", 1), ("SFO", "San Francisco", "CA", 2),
        ("SRF", "San Rafael", "CA", 1), ("PAO", "Palo Alto", "CA", 1), ("SJC", "San Jose", "CA", 1),
        ("WCK", "Walnut Creek", "CA", 1), ("SAC", "Sacramento", "CA", 1),
        ("FAT", "Fresno", "CA", 1), ("BFL", "Bakersfield", "CA", 1), ("SEA", "Seattle", "WA", 2),
        ("BLV", "Bellevue", "WA", 1), ("TAC", "Tacoma", "WA", 1), ("GEG", "Spokane", "WA", 1),
        ("PDX", "Portland", "OR", 2), ("EUG", "Eugene", "OR", 1), ("BOI", "Boise", "ID", 1),
        ("SLC", "Salt Lake City", "UT", 2), ("LAS", "Las Vegas", "NV", 2), ("RNO", "Reno", "NV", 1),
        ("PHX", "Phoenix", "AZ", 2), ("SCF", "Scottsdale", "AZ", 2), ("TUS", "Tucson", "AZ", 1),
        ("DEN", "Denver", "CO", 3), ("COS", "Colorado Springs", "CO", 1),
        ("ABQ", "Albuquerque", "NM", 1), ("SAF", "Santa Fe", "NM", 1), ("HNL", "Honolulu", "HI", 1),
        ("ANC", "Anchorage", "AK", 1), ("BIL", "Billings", "MT", 1), ("JAC", "Jackson", "WY", 1),
    ),
}
FAMILY_NAMES = (
    "Hendrick", "Holman", "Herzog", "Brumos", "Lyon", "Carlsen", "Kemper", "Whitlock", "Prestige",
    "Bauer", "Steinberg", "Walden", "Ashford", "Crestview", "Lakeside", "Ridgeway",
)
AREAS = ("North", "South", "West", "East", "Downtown")
# fmt: on


@dataclass
class DealerPlan:
    id: int
    code: str
    name: str
    site_id: int
    weight: float
    places: int


def add_dealers(
    session: Session,
    local: random.Random,
    sites: dict[str, Site],
    history: list[tuple[int, int, datetime, str]],
) -> list[DealerPlan]:
    specs: list[dict[str, Any]] = []
    for region, cities in CITIES.items():
        site = sites["LA"] if region == "West" and "LA" in sites else sites["ATL"]
        for city_code, city, state, count in cities:
            names = _names(local, city, count)
            for n in range(1, count + 1):
                # Dealer sizes are skewed: a few big metro dealers, many small ones.
                weight = local.lognormvariate(0, 0.7) * (1.6 if count >= 3 else 1.0)
                specs.append(
                    {
                        "code": f"D-{city_code}-{n:03d}",
                        "name": names[n - 1],
                        "city": city,
                        "state": state,
                        "region": region,
                        "home_site_id": site.id,
                        "email": f"sales@d-{city_code.lower()}-{n:03d}.example",
                        "phone": f"+1 555 {local.randint(200, 999)} {local.randint(1000, 9999)}",
                        "weight": weight,
                    }
                )
    # Places per month: each dealer's expected share of 15% of its centre's monthly test
    # drives, with room to spare (allotments are rarely all used).
    drives_per_month: dict[int, float] = defaultdict(float)
    span_days = max(
        (max(h[2] for h in history) - min(h[2] for h in history)).days if history else 30, 1
    )
    for _, site_id, _, _ in history:
        drives_per_month[site_id] += 30 / span_days
    weight_per_site: dict[int, float] = defaultdict(float)
    for spec in specs:
        weight_per_site[spec["home_site_id"]] += spec["weight"]
    for spec in specs:
        expected = (
            drives_per_month[spec["home_site_id"]]
            * DEALER_SHARE
            * spec["weight"]
            / weight_per_site[spec["home_site_id"]]
        )
        spec["monthly_allotment"] = max(2, math.ceil(expected * 1.6) + 1)
    weights = [spec.pop("weight") for spec in specs]
    ids = session.scalars(
        insert(Dealer).returning(Dealer.id, sort_by_parameter_order=True),
        [{**s, "active": True, "created_at": datetime(2015, 5, 1, tzinfo=UTC)} for s in specs],
    ).all()
    return [
        DealerPlan(i, s["code"], s["name"], s["home_site_id"], w, s["monthly_allotment"])
        for i, s, w in zip(ids, specs, weights, strict=True)
    ]


def _names(local: random.Random, city: str, count: int) -> list[str]:
    names = [f"Porsche {city}"]
    families = list(FAMILY_NAMES)
    local.shuffle(families)
    areas = list(AREAS)
    local.shuffle(areas)
    while len(names) < count:
        if local.random() < 0.5 and areas:
            names.append(f"Porsche {city} {areas.pop()}")
        else:
            names.append(f"{families.pop()} Porsche {city}")
    return names


def add_accounts(session: Session, dealers: list[DealerPlan]) -> int:
    """Centre staff, dealer staff (dealer@<code>.example, plus sales@ and manager@ at the 20
    largest dealers) and one API token; every demo account has the demo password."""
    shared_hash = accounts.hash_password(DEMO_PASSWORD)  # one slow hash for all demo accounts
    rows: list[dict[str, Any]] = [
        {"email": f"{who}@paddock.example", "name": name, "role": role, "dealer_id": None}
        for who, name, role in (
            ("admin", "Alex Admin", Role.ADMIN),
            ("ops", "Olive Operations", Role.OPERATIONS),
            ("coach", "Avery Brooks", Role.COACH),
            ("motorsport", "Morgan Motorsport", Role.MOTORSPORT),
        )
    ]
    largest = {d.id for d in sorted(dealers, key=lambda d: -d.weight)[:20]}
    for dealer in dealers:
        domain = f"{dealer.code.lower()}.example"
        staff = ["dealer", "sales", "manager"] if dealer.id in largest else ["dealer"]
        rows.extend(
            {
                "email": f"{who}@{domain}",
                "name": f"{who.capitalize()} at {dealer.name}",
                "role": Role.DEALER,
                "dealer_id": dealer.id,
            }
            for who in staff
        )
    created = datetime(2015, 5, 1, tzinfo=UTC)
    session.execute(
        insert(User),
        [
            {
                **r,
                "role": str(r["role"]),
                "password_hash": shared_hash,
                "active": True,
                "failed_logins": 0,
                "locked_until": None,
                "last_login_at": None,
                "password_changed_at": created,
                "created_at": created,
            }
            for r in rows
        ],
    )
    first = next(d for d in dealers if d.code == "D-ATL-001")
    session.execute(
        insert(ApiToken),
        {
            "dealer_id": first.id,
            "name": "Demo DMS",
            "token_hash": accounts.digest(DEMO_TOKEN),
            "prefix": DEMO_TOKEN[:10],
            "created_by": "demo",
            "created_at": created,
            "last_used_at": None,
            "expires_at": None,
            "revoked_at": None,
        },
    )
    return len(rows)
