"""A booking request checked and made ready to write: the booking's row, its audit entry and
what it demands. Writing it is the database's part (service.py, postgres.py).

Drafting is pure: it checks a `BookingRequest` against a `BookingSnapshot` (the product, the
site's hours, the pools' units, read once and cached a few seconds per process), so the
booking endpoint drafts on its event loop when the caches hold the snapshot
(`cached_snapshot`), and reads it in a worker thread (`snapshot`) when they do not.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.bookings.models import BookingStatus
from paddock.capacity import claims
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand
from paddock.capacity.units import (
    StaticUnits,
    cached_site_clock,
    cached_static_units,
    static_units,
)
from paddock.catalog import service as catalog
from paddock.catalog.service import ProductPlan
from paddock.errors import Invalid

ENGAGEMENT = "booking"
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
# What a programme writes with a booking, in its transaction: on_admitted(session, booking_id).
AdmittedHook = Callable[[Session, int], None]


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    phone: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A booking's arguments, built once at the edge (the endpoint, a page, the CLI, a
    programme's use case) and passed whole down the booking path. `extra_demands` (a dealer's
    monthly place, say) are admitted with the product's."""

    product_code: str
    starts_at: datetime
    guest: Guest
    hold: bool = False
    hold_minutes: int = 10
    idempotency_key: str | None = None
    channel: str = "public"
    actor: str = "guest"
    public_only: bool = False
    extra_demands: tuple[Demand, ...] = ()


@dataclass(frozen=True, slots=True)
class BookingSnapshot:
    """What drafting a booking reads, read once: the product's plan, its site's hours and the
    units of the pools it demands (each cached a few seconds per process)."""

    plan: ProductPlan
    site: capacity.SiteClock
    units: StaticUnits


def snapshot(session: Session, request: BookingRequest) -> BookingSnapshot:
    """The request's snapshot, from the caches or read with the session."""
    plan = catalog.product_plan(session, code=request.product_code)
    site = catalog.plan_clock(session, plan)
    return BookingSnapshot(
        plan, site, static_units(session, plan.site_id, _pool_ids(plan, request))
    )


def cached_snapshot(request: BookingRequest) -> BookingSnapshot | None:
    """The request's snapshot if the caches hold it all fresh, else None (read it with
    `snapshot`: the booking endpoint does so in a worker thread, off its event loop)."""
    plan = catalog.cached_plan(request.product_code)
    if plan is None:
        return None
    site = cached_site_clock(plan.site_id)
    if site is None:
        return None
    units = cached_static_units(plan.site_id, _pool_ids(plan, request))
    if units is None:
        return None
    return BookingSnapshot(plan, site, units)


def _pool_ids(plan: ProductPlan, request: BookingRequest) -> tuple[int, ...]:
    if not request.extra_demands:
        return plan.pool_ids
    return claims.pool_ids((*plan.demands, *request.extra_demands))


@dataclass(frozen=True)
class Draft:
    plan: ProductPlan
    values: dict[str, Any]  # the booking row, its id aside
    audit: dict[str, Any]  # its audit entry, the booking's id aside
    chosen: claims.Claims  # the demands with their candidate units, best first
    idempotency_key: str | None
    fingerprint: str


def draft(request: BookingRequest, seen: BookingSnapshot, now: datetime) -> Draft:
    """Check the request against the snapshot (product sold, time on the grid, not past) and
    make the rows and the claims. Pure: no database, no cache."""
    plan, site, starts_at = seen.plan, seen.site, request.starts_at
    if request.public_only and not plan.public:
        # Deliveries and dealer-only products are booked by staff, with what they need.
        raise Invalid(f"'{plan.code}' is not open for online booking.")
    if starts_at < now:
        raise Invalid("That start time has already passed.")
    if not capacity.is_on_grid(site, starts_at, plan.duration, plan.step):
        raise Invalid(
            f"{starts_at.isoformat()} is not a start time of '{plan.code}'; "
            "ask the availability endpoint for the free slots."
        )
    guest, hold, channel = request.guest, request.hold, request.channel
    fingerprint = request_fingerprint(request.product_code, starts_at, guest, hold)
    values = {
        "ref": new_ref(),
        "manage_token": secrets.token_urlsafe(24),
        "idempotency_key": request.idempotency_key,
        "request_fingerprint": fingerprint,
        "product_id": plan.product_id,
        "site_id": plan.site_id,
        "starts_at": starts_at,
        "ends_at": starts_at + plan.duration,
        "status": BookingStatus.HELD if hold else BookingStatus.CONFIRMED,
        "hold_expires_at": now + timedelta(minutes=request.hold_minutes) if hold else None,
        "guest_name": guest.name,
        "guest_email": guest.email,
        "guest_phone": guest.phone,
        "notes": guest.notes,
        "channel": channel,
        "price_cents": plan.price_cents,
        "currency": plan.currency,
        "created_at": now,
        "updated_at": now,
        "checked_in_at": None,
        "cancelled_at": None,
        "cancel_reason": "",
    }
    audit = audit_row(
        request.actor,
        "held" if hold else "confirmed",
        now,
        product=plan.code,
        starts_at=starts_at.isoformat(),
        channel=channel,
    )
    demands = (*plan.demands, *request.extra_demands) if request.extra_demands else plan.demands
    chosen = claims.claims(seen.units, site, demands, starts_at)
    return Draft(plan, values, audit, chosen, request.idempotency_key, fingerprint)


def audit_row(actor: str, action: str, now: datetime, **data: object) -> dict[str, Any]:
    """A booking's audit entry, its booking id to be added (it is made before the booking)."""
    return audit.entry(
        actor=actor, subject_kind=ENGAGEMENT, subject_id=None, action=action, at=now, **data
    )


def request_fingerprint(product_code: str, starts_at: datetime, guest: Guest, hold: bool) -> str:
    """What an idempotent retry must repeat: the same key with another request is refused."""
    canonical = json.dumps(
        [product_code, starts_at.isoformat(), guest.name, guest.email.lower(), hold],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_ref() -> str:
    # 32 letters: each random byte maps to one without bias.
    return "P" + "".join(REF_ALPHABET[b % 32] for b in secrets.token_bytes(7))
