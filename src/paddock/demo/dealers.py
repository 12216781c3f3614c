"""The demo dealer network: the dealers and demo accounts (`dealer_directory`), monthly
allotments of test-drive places, campaigns with shared and personal codes, and about 15% of the
demo's test drives attributed to dealers (the 2012 plan: "about 15% arranged through dealers"),
larger dealers more.

Deterministic for a given seed."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Allocation, Pool, Site, Unit, UnitShift, pool_membership
from paddock.catalog.models import Product
from paddock.dealers import allotments
from paddock.dealers.models import (
    BookingAttribution,
    Campaign,
    DealerAllotment,
    InvitationCode,
    Invitee,
    campaign_product,
)
from paddock.demo.dealer_directory import (
    DEALER_SHARE,
    DEMO_PASSWORD,
    DEMO_TOKEN,
    DealerPlan,
    add_accounts,
    add_dealers,
)

MIDNIGHT = time(0, 0)

# fmt: off
FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Mia", "William",
    "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Grace", "Jack", "Chloe", "Daniel",
    "Nora", "Samuel", "Lily", "David", "Zoe", "Owen", "Ruby", "Caleb", "Iris", "Miles",
)
LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Young", "Allen", "King", "Scott", "Nguyen", "Patel", "Kim", "Reed",
)
CAMPAIGNS = (
    ("Spring drive days", "Clients and prospects drive the range on the circuit."),
    ("Electric experience", "Taycan and comparison drives for electric-curious prospects."),
    ("GT client evening", "Loyal clients try the GT cars with a coach."),
    ("Conquest weekend", "Prospects close to buying, invited to drive before they decide."),
)
# fmt: on


def load_dealers(session: Session, rng: random.Random, today: date) -> dict[str, int]:
    """Add the dealer network on top of the loaded sites and booking history, in the caller's
    transaction."""
    local = random.Random(rng.getrandbits(64))  # our draws do not shift anyone else's
    sites = {s.code: s for s in session.scalars(select(Site))}
    history = _driving_history(session)
    dealers = add_dealers(session, local, sites, history)
    users = add_accounts(session, dealers)
    months = _months(history, today)
    pools = _allotments(session, dealers, months)
    campaigns, shared, personal = _campaigns(session, local, dealers, today)
    attributed = _attribute(session, local, dealers, sites, history, pools, shared, personal)
    return {
        "dealers": len(dealers),
        "users": users,
        "campaigns": campaigns,
        "invitees": sum(len(v) for v in personal.values()),
        "attributed bookings": attributed,
    }


def _driving_history(session: Session) -> list[tuple[int, int, datetime, str]]:
    """(booking, site, start, status) of every test drive (driving products)."""
    rows = session.execute(
        select(Booking.id, Booking.site_id, Booking.starts_at, Booking.status)
        .join(Product, Product.id == Booking.product_id)
        .where(Product.category == "driving")
        .order_by(Booking.id)
    ).all()
    return [(int(i), int(s), start, str(status)) for i, s, start, status in rows]


def _months(history: list[tuple[int, int, datetime, str]], today: date) -> list[date]:
    first = allotments.first_of_month(
        min((h[2].date() for h in history), default=today) - timedelta(days=1)
    )
    last = allotments.first_of_month(
        max((h[2].date() for h in history), default=today) + timedelta(days=1)
    )
    months = [first]
    while months[-1] < last:
        months.append(allotments.next_month(months[-1]))
    return months


def _allotments(
    session: Session, dealers: list[DealerPlan], months: list[date]
) -> dict[tuple[int, date], tuple[int, list[int]]]:
    """Per (dealer, month): the places pool and its units, bulk-inserted."""
    pool_rows = [
        {
            "site_id": d.site_id,
            "code": allotments.pool_code(d.code, m),
            "kind": allotments.POOL_KIND,
            "name": f"{d.name} test-drive places {m:%B %Y}",
        }
        for d in dealers
        for m in months
    ]
    pool_ids = session.scalars(
        insert(Pool).returning(Pool.id, sort_by_parameter_order=True), pool_rows
    ).all()
    keys = [(d, m) for d in dealers for m in months]
    unit_rows = [
        {
            "site_id": d.site_id,
            "label": f"{d.code} {m:%Y-%m} place {n:03d}",
            "kind": allotments.UNIT_KIND,
            "active": True,
            "usage_minutes": 0,
            "attributes": {"dealer": d.code, "month": f"{m:%Y-%m}"},
        }
        for d, m in keys
        for n in range(1, d.places + 1)
    ]
    unit_ids = session.scalars(
        insert(Unit).returning(Unit.id, sort_by_parameter_order=True), unit_rows
    ).all()
    result: dict[tuple[int, date], tuple[int, list[int]]] = {}
    memberships: list[dict[str, int]] = []
    position = 0
    for (d, m), pool_id in zip(keys, pool_ids, strict=True):
        units = list(unit_ids[position : position + d.places])
        position += d.places
        result[(d.id, m)] = (pool_id, units)
        memberships.extend({"pool_id": pool_id, "unit_id": u} for u in units)
    session.execute(insert(pool_membership), memberships)
    session.execute(
        insert(UnitShift),
        [
            {"unit_id": u, "weekday": day, "starts_at": MIDNIGHT, "ends_at": MIDNIGHT}
            for u in unit_ids
            for day in range(7)
        ],
    )
    session.execute(
        insert(DealerAllotment),
        [
            {
                "dealer_id": d.id,
                "site_id": d.site_id,
                "month": m,
                "places": d.places,
                "pool_id": result[(d.id, m)][0],
                "updated_at": datetime.combine(m, MIDNIGHT, tzinfo=UTC) - timedelta(days=10),
            }
            for d, m in keys
        ],
    )
    return result


def _campaigns(
    session: Session, local: random.Random, dealers: list[DealerPlan], today: date
) -> tuple[int, dict[int, list[tuple[int, int]]], dict[int, list[tuple[int, int, str, str]]]]:
    """One or two campaigns per dealer over the demo period, each with a shared code and a
    handful of personal invitations. Returns the count, shared codes per dealer (campaign, code
    id) and personal codes per dealer (campaign, code id, invitee name, e-mail)."""
    products_by_site: dict[int, list[int]] = defaultdict(list)
    for product_id, site_id in session.execute(
        select(Product.id, Product.site_id).where(Product.category == "driving")
    ):
        products_by_site[site_id].append(product_id)
    campaign_rows: list[dict[str, Any]] = []
    owners: list[DealerPlan] = []
    for dealer in dealers:
        for title, text in local.sample(CAMPAIGNS, k=1 + (dealer.weight > 1.2)):
            start = today - timedelta(days=local.randint(60, 90))
            campaign_rows.append(
                {
                    "dealer_id": dealer.id,
                    "name": title,
                    "description": text,
                    "drive_from": start,
                    "drive_to": today + timedelta(days=local.randint(45, 120)),
                    "created_by": f"user:dealer@{dealer.code.lower()}.example",
                    "created_at": datetime.combine(start, MIDNIGHT, tzinfo=UTC)
                    - timedelta(days=14),
                    "archived_at": None,
                }
            )
            owners.append(dealer)
    campaign_ids = session.scalars(
        insert(Campaign).returning(Campaign.id, sort_by_parameter_order=True), campaign_rows
    ).all()
    session.execute(
        insert(campaign_product),
        [
            {"campaign_id": cid, "product_id": pid}
            for cid, dealer in zip(campaign_ids, owners, strict=True)
            for pid in products_by_site[dealer.site_id]
        ],
    )
    shared: dict[int, list[tuple[int, int]]] = defaultdict(list)
    personal: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
    code_rows: list[dict[str, Any]] = []
    invitee_rows: list[dict[str, Any]] = []
    for cid, dealer, row in zip(campaign_ids, owners, campaign_rows, strict=True):
        word = row["name"].split()[0].upper()
        code_rows.append(
            _code_row(
                code=_shared_code(word, dealer.code),
                dealer_id=dealer.id,
                campaign_id=cid,
                kind="shared",
                invitee_id=None,
                max_uses=local.choice((None, 20, 40, 60)),
                created_at=row["created_at"],
            )
        )
        for _ in range(local.randint(4, 12)):
            name = f"{local.choice(FIRST)} {local.choice(LAST)}"
            email = f"{name.lower().replace(' ', '.')}.{len(invitee_rows)}@example.com"
            invitee_rows.append(
                {
                    "dealer_id": dealer.id,
                    "campaign_id": cid,
                    "name": name,
                    "email": email,
                    "email_key": email,
                    "phone": f"+1 555 {local.randint(200, 999)} {local.randint(1000, 9999)}",
                    "consent_marketing": local.random() < 0.7,
                    "product_code": "",
                    "note": "",
                    "source": local.choice(("import", "manual")),
                    "created_at": row["created_at"] + timedelta(days=local.randint(0, 10)),
                }
            )
    code_ids = session.scalars(
        insert(InvitationCode).returning(InvitationCode.id, sort_by_parameter_order=True),
        code_rows,
    ).all()
    for row, code_id in zip(code_rows, code_ids, strict=True):
        shared[row["dealer_id"]].append((row["campaign_id"], code_id))
    invitee_ids = session.scalars(
        insert(Invitee).returning(Invitee.id, sort_by_parameter_order=True), invitee_rows
    ).all()
    personal_rows = [
        _code_row(
            code=_demo_code(local),
            dealer_id=row["dealer_id"],
            campaign_id=row["campaign_id"],
            kind="personal",
            invitee_id=iid,
            max_uses=1,
            created_at=row["created_at"],
        )
        for row, iid in zip(invitee_rows, invitee_ids, strict=True)
    ]
    personal_ids = session.scalars(
        insert(InvitationCode).returning(InvitationCode.id, sort_by_parameter_order=True),
        personal_rows,
    ).all()
    for row, code_id, inv in zip(personal_rows, personal_ids, invitee_rows, strict=True):
        personal[row["dealer_id"]].append((row["campaign_id"], code_id, inv["name"], inv["email"]))
    return len(campaign_ids), shared, personal


def _attribute(
    session: Session,
    local: random.Random,
    dealers: list[DealerPlan],
    sites: dict[str, Site],
    history: list[tuple[int, int, datetime, str]],
    pools: dict[tuple[int, date], tuple[int, list[int]]],
    shared: dict[int, list[tuple[int, int]]],
    personal: dict[int, list[tuple[int, int, str, str]]],
) -> int:
    """About 15% of test drives came through a dealer: a personal invitation (the guest is the
    invitee) or a campaign's shared code. Each takes one of the dealer's places that month."""
    zones = {s.id: ZoneInfo(s.time_zone) for s in sites.values()}
    by_site: dict[int, list[DealerPlan]] = defaultdict(list)
    for dealer in dealers:
        by_site[dealer.site_id].append(dealer)
    used_places: dict[tuple[int, date], int] = defaultdict(int)
    uses: dict[int, int] = defaultdict(int)
    attributions: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    guests: list[dict[str, Any]] = []
    for booking_id, site_id, start, status in history:
        if local.random() >= DEALER_SHARE or not by_site[site_id]:
            continue
        zone = zones[site_id]
        month = allotments.local_month(start, zone)
        candidates = by_site[site_id]
        for dealer in local.choices(candidates, [d.weight for d in candidates], k=3):
            key = (dealer.id, month)
            if key in pools and used_places[key] < dealer.places:
                break
        else:
            continue  # the dealers drawn have no place left that month: not attributed
        pool_id, units = pools[key]
        unit_id = units[used_places[key]]
        used_places[key] += 1
        invitee = (
            next((p for p in personal[dealer.id] if uses[p[1]] == 0), None)
            if local.random() < 0.6
            else None
        )
        if invitee is not None:
            code_id = invitee[1]
            guests.append({"id": booking_id, "guest_name": invitee[2], "guest_email": invitee[3]})
        else:
            code_id = local.choice(shared[dealer.id])[1]
        uses[code_id] += 1
        attributions.append(
            {
                "booking_id": booking_id,
                "dealer_id": dealer.id,
                "invitation_code_id": code_id,
                "invitee_id": None,  # filled in below for personal codes
                "created_at": start - timedelta(days=local.randint(3, 30)),
            }
        )
        month_start, month_end = allotments.month_window(month, zone)
        allocations.append(
            {
                "engagement_kind": "booking",
                "engagement_id": booking_id,
                "unit_id": unit_id,
                "pool_id": pool_id,
                "starts_at": month_start,
                "ends_at": month_end,
                "active": status not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW),
                "expires_at": None,
            }
        )
    if not attributions:
        return 0
    # Personal codes point at their invitee: resolve invitee ids from the codes.
    invitee_of = dict(
        session.execute(
            select(InvitationCode.id, InvitationCode.invitee_id).where(
                InvitationCode.id.in_([a["invitation_code_id"] for a in attributions]),
                InvitationCode.kind == "personal",
            )
        ).all()
    )
    for row in attributions:
        row["invitee_id"] = invitee_of.get(row["invitation_code_id"])
    session.execute(insert(BookingAttribution), attributions)
    session.execute(insert(Allocation), allocations)
    session.execute(
        update(Booking)
        .where(Booking.id.in_([a["booking_id"] for a in attributions]))
        .values(channel="invitation")
    )
    if guests:  # a personal invitation's booking is the invitee's
        session.execute(update(Booking), guests)
    session.execute(update(InvitationCode), [{"id": c, "uses": n} for c, n in uses.items()])
    return len(attributions)


def _code_row(**values: Any) -> dict[str, Any]:
    """An invitation code row as the demo inserts it: unused, no expiry, the campaign's dates."""
    return {
        "uses": 0,
        "expires_at": None,
        "drive_from": None,
        "drive_to": None,
        "revoked_at": None,
        **values,
    }


def _shared_code(word: str, dealer_code: str) -> str:
    """A campaign's shared code as a dealer should choose one (dealers.rules.code_weaknesses:
    its word is not all of it), e.g. SPRING-K7QM4X: the word, then four letters and two digits
    drawn from a hash (not from the seeded stream, which the rest of the demo follows)."""
    raw = hashlib.sha256(f"{dealer_code}:{word}".encode()).digest()
    letters, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
    tail = [letters[b % len(letters)] for b in raw[:4]]
    tail[1:1] = digits[raw[4] % len(digits)]
    tail.insert(4, digits[raw[5] % len(digits)])
    return f"{word}-{''.join(tail)}"


def _demo_code(local: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(local.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


__all__ = ["DEMO_PASSWORD", "DEMO_TOKEN", "load_dealers"]
