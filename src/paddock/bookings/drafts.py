"""A booking request checked and made ready to write: the booking's row, its audit entry and
what it demands. Writing it is the database's part (service.py, postgres.py).

Drafting reads only what the caches hold a few seconds (the product, the site's hours, the
pools' units), so the booking endpoint drafts on its event loop; without a session and with a
cold cache it raises NotCached, and is asked again in a worker thread with one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.bookings.models import BookingStatus
from paddock.capacity import claims
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand
from paddock.capacity.units import static_units
from paddock.catalog import service as catalog
from paddock.catalog.service import ProductPlan
from paddock.errors import Invalid

ENGAGEMENT = "booking"
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    phone: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Draft:
    plan: ProductPlan
    site: capacity.SiteClock
    values: dict[str, Any]  # the booking row, its id aside
    audit: dict[str, Any]  # its audit entry, the booking's id aside
    demands: tuple[Demand, ...]
    idempotency_key: str | None
    fingerprint: str

    def claims(self, session: Session | None) -> claims.Claims:
        """The demands with their candidate units (PostgreSQL takes them in one call)."""
        return claims.claims(session, self.site, self.demands, self.values["starts_at"])


def draft_booking(
    session: Session | None,
    *,
    product_code: str,
    starts_at: datetime,
    guest: Guest,
    hold: bool,
    hold_minutes: int,
    idempotency_key: str | None,
    channel: str,
    actor: str,
    now: datetime,
    extra_demands: Sequence[Demand] = (),
    public_only: bool = False,
) -> Draft:
    """Check the request (product sold, time on the grid, not past) and make the rows."""
    plan = catalog.product_plan(session, code=product_code)
    if public_only and not plan.public:
        # Deliveries and dealer-only products are booked by staff, with what they need.
        raise Invalid(f"'{plan.code}' is not open for online booking.")
    site = catalog.plan_clock(session, plan)
    if starts_at < now:
        raise Invalid("That start time has already passed.")
    if not capacity.is_on_grid(site, starts_at, plan.duration, plan.step):
        raise Invalid(
            f"{starts_at.isoformat()} is not a start time of '{plan.code}'; "
            "ask the availability endpoint for the free slots."
        )
    fingerprint = request_fingerprint(product_code, starts_at, guest, hold)
    values = {
        "ref": new_ref(),
        "manage_token": secrets.token_urlsafe(24),
        "idempotency_key": idempotency_key,
        "request_fingerprint": fingerprint,
        "product_id": plan.product_id,
        "site_id": plan.site_id,
        "starts_at": starts_at,
        "ends_at": starts_at + plan.duration,
        "status": BookingStatus.HELD if hold else BookingStatus.CONFIRMED,
        "hold_expires_at": now + timedelta(minutes=hold_minutes) if hold else None,
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
        actor,
        "held" if hold else "confirmed",
        now,
        product=plan.code,
        starts_at=starts_at.isoformat(),
        channel=channel,
    )
    return Draft(
        plan,
        site,
        values,
        audit,
        (*plan.demands, *extra_demands),
        idempotency_key,
        fingerprint,
    )


def read_caches(session: Session, product_code: str) -> None:
    """Read into the caches what drafting a booking of this product needs, whatever the
    request (drafting one stops at its first fault)."""
    plan = catalog.product_plan(session, code=product_code)
    site = catalog.plan_clock(session, plan)
    static_units(session, site.site_id, tuple(sorted({d.pool_id for d in plan.demands})))


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
