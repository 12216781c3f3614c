"""Booking use cases. Each public function owns its transaction: it commits on success and
leaves nothing half-written on failure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.bookings import drafts, lifecycle
from paddock.bookings.drafts import ENGAGEMENT as ENGAGEMENT
from paddock.bookings.drafts import AdmittedHook, Draft
from paddock.bookings.drafts import BookingRequest as BookingRequest
from paddock.bookings.drafts import Guest as Guest
from paddock.bookings.lifecycle import CompanionDemands as CompanionDemands
from paddock.bookings.lifecycle import ReleaseListener as ReleaseListener
from paddock.bookings.lifecycle import Transition as Transition
from paddock.bookings.lifecycle import register_companion_demands as register_companion_demands
from paddock.bookings.lifecycle import register_release_listener as register_release_listener
from paddock.bookings.models import Booking, BookingStatus
from paddock.bookings.results import BookingResult as BookingResult
from paddock.bookings.results import Resource as Resource
from paddock.bookings.results import effective_status as effective_status
from paddock.bookings.results import get_booking as get_booking
from paddock.bookings.results import get_by_token as get_by_token
from paddock.bookings.results import history as history
from paddock.bookings.results import list_bookings as list_bookings
from paddock.bookings.results import local_day_bounds as local_day_bounds
from paddock.bookings.results import results_of as results_of
from paddock.bookings.results import with_resources
from paddock.bookings.store import store
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand, Pick, is_free
from paddock.capacity.guards import guard_again
from paddock.capacity.models import Allocation, Site, Unit, pool_membership
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.errors import Conflict, HoldExpired, Invalid, InvalidTransition, NotFound, SoldOut
from paddock.unit_of_work import run_write


def create_booking(
    session: Session,
    *,
    product_code: str,
    starts_at: datetime,
    guest: Guest,
    hold: bool = False,
    hold_minutes: int = 10,
    idempotency_key: str | None = None,
    channel: str = "public",
    actor: str = "guest",
    now: datetime | None = None,
    extra_demands: Sequence[Demand] = (),
    on_admitted: AdmittedHook | None = None,
    public_only: bool = False,
) -> BookingResult:
    """`book` with the request's arguments as keywords."""
    request = BookingRequest(
        product_code=product_code,
        starts_at=starts_at,
        guest=guest,
        hold=hold,
        hold_minutes=hold_minutes,
        idempotency_key=idempotency_key,
        channel=channel,
        actor=actor,
        public_only=public_only,
        extra_demands=tuple(extra_demands),
    )
    return book(session, request, now=now, on_admitted=on_admitted)


def book(
    session: Session,
    request: BookingRequest,
    *,
    now: datetime | None = None,
    on_admitted: AdmittedHook | None = None,
) -> BookingResult:
    """Admit a booking only if every demand of the product can be met at that start.
    A retried request with the same idempotency key returns the first booking.

    Programmes built on bookings extend it inside the same transaction: the request's
    `extra_demands` (e.g. a dealer's monthly place, with a negative offset) are admitted with
    the product's, and `on_admitted(session, booking_id)` writes what belongs with the
    booking (attribution)."""
    # Read the snapshot, draft (pure: the candidates, best first, before any write lock),
    # write through the engine's store.
    draft = drafts.draft(request, drafts.snapshot(session, request), now or utcnow())
    key = request.idempotency_key
    try:
        booking_id, picks = store(session).write(session, draft, on_admitted)
    except IntegrityError as exc:
        # The unique key, not a lookup first, detects a retry: one round trip fewer per booking.
        if key and "idempotency_key" in str(exc):
            previous = _replay(session, key, draft.fingerprint)
            if previous is not None:
                return previous
        raise
    except SoldOut:
        # A retry of a request that took the last place finds it full: it gets its booking.
        if key:
            previous = _replay(session, key, draft.fingerprint)
            if previous is not None:
                return previous
        raise
    return created_result(draft, booking_id, picks)


def created_result(draft: Draft, booking_id: int, picks: Sequence[Pick]) -> BookingResult:
    resources = [
        Resource(p.demand.pool_id, p.unit_id, p.unit_label, p.starts_at, p.ends_at) for p in picks
    ]
    return BookingResult(_detached_booking(booking_id, draft.values), draft.plan.code, resources)


_booking_class = Booking.__mapper__.class_manager


def _detached_booking(booking_id: int, values: dict[str, Any]) -> Booking:
    """The booking just written, to answer with: its values set as if loaded, without the
    ORM's per-attribute change events (a twentieth of the endpoint's CPU). It belongs to no
    session; read it, do not change it."""
    booking: Booking = _booking_class.new_instance()
    booking.__dict__.update(values, id=booking_id)
    return booking


def confirm_booking(
    session: Session, *, ref: str, actor: str = "guest", now: datetime | None = None
) -> BookingResult:
    now = now or utcnow()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        if status == BookingStatus.CONFIRMED:
            return booking
        if status == BookingStatus.EXPIRED:
            lifecycle.expire(session, booking, now)
            session.commit()
            raise HoldExpired(
                f"The hold on booking {ref} expired at {booking.hold_expires_at:%H:%M} UTC; "
                "the slot was released. Please book again."
            )
        lifecycle.require(booking, status, {BookingStatus.HELD}, "confirm")
        capacity.confirm(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
        lifecycle.set_status(
            session, booking, BookingStatus.CONFIRMED, now, actor, hold_expires_at=None
        )
        return booking

    return with_resources(session, run_write(session, write))


def cancel_booking(
    session: Session,
    *,
    ref: str,
    reason: str = "",
    actor: str = "guest",
    now: datetime | None = None,
) -> BookingResult:
    now = now or utcnow()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        if status == BookingStatus.CANCELLED:
            return booking
        lifecycle.require(booking, status, {BookingStatus.HELD, BookingStatus.CONFIRMED}, "cancel")
        held = session.scalars(
            select(Allocation.unit_id).where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id == booking.id,
                Allocation.active.is_(True),
            )
        ).all()
        capacity.release(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
        # Time a block had left to this booking (nowhere to move it) is blocked again.
        guard_again(session, held, now)
        lifecycle.set_status(
            session,
            booking,
            BookingStatus.CANCELLED,
            now,
            actor,
            cancelled_at=now,
            cancel_reason=reason,
        )
        return booking

    return with_resources(session, run_write(session, write))


def check_in(
    session: Session, *, ref: str, actor: str = "operations", now: datetime | None = None
) -> BookingResult:
    now = now or utcnow()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        if status == BookingStatus.CHECKED_IN:
            return booking
        lifecycle.require(booking, status, {BookingStatus.CONFIRMED}, "check in")
        if now < booking.starts_at - timedelta(hours=3) or now > booking.ends_at:
            raise InvalidTransition(
                f"Booking {ref} can be checked in from 3 hours before its start "
                f"({booking.starts_at:%Y-%m-%d %H:%M} UTC) until its end."
            )
        lifecycle.set_status(
            session, booking, BookingStatus.CHECKED_IN, now, actor, checked_in_at=now
        )
        return booking

    return with_resources(session, run_write(session, write))


def complete(
    session: Session, *, ref: str, actor: str = "operations", now: datetime | None = None
) -> BookingResult:
    now = now or utcnow()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        lifecycle.require(
            booking, effective_status(booking, now), {BookingStatus.CHECKED_IN}, "complete"
        )
        held = capacity.allocations_of(session, ENGAGEMENT, [booking.id]).get(booking.id, [])
        for unit_id, _, _, starts, ends in held:
            # Completed use is what wears a car: the allocator prefers the least-used.
            minutes = int((ends - starts).total_seconds() // 60)
            session.execute(
                update(Unit)
                .where(Unit.id == unit_id)
                .values(usage_minutes=Unit.usage_minutes + minutes)
            )
        lifecycle.set_status(session, booking, BookingStatus.COMPLETED, now, actor)
        return booking

    return with_resources(session, run_write(session, write))


def mark_no_show(
    session: Session, *, ref: str, actor: str = "operations", now: datetime | None = None
) -> BookingResult:
    now = now or utcnow()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        lifecycle.require(
            booking, effective_status(booking, now), {BookingStatus.CONFIRMED}, "no-show"
        )
        if now < booking.starts_at:
            raise InvalidTransition(f"Booking {ref} has not started yet; it cannot be a no-show.")
        capacity.release(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
        lifecycle.set_status(session, booking, BookingStatus.NO_SHOW, now, actor)
        return booking

    return with_resources(session, run_write(session, write))


def reschedule(
    session: Session,
    *,
    ref: str,
    starts_at: datetime,
    actor: str = "guest",
    now: datetime | None = None,
) -> BookingResult:
    """Move a live booking to another start: the new units are taken before the old are
    given up, in one transaction, so a full slot leaves the booking where it was. What the
    booking holds beyond the product (a dealer's monthly place) is taken again at the new
    start."""
    now = now or utcnow()
    current = get_booking(session, ref=ref).booking
    companions = [
        demand
        for provider in lifecycle.companion_demands.values()
        for demand in provider(session, current.id, starts_at)
    ]
    session.rollback()

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        lifecycle.require(booking, status, {BookingStatus.HELD, BookingStatus.CONFIRMED}, "move")
        code = session.scalar(select(Product.code).where(Product.id == booking.product_id))
        plan = catalog.product_plan(session, code=code or "")
        site = catalog.plan_clock(session, plan)
        if starts_at < now:
            raise Invalid("The new start time has already passed.")
        if not capacity.is_on_grid(site, starts_at, plan.duration, plan.step):
            raise Invalid(f"{starts_at.isoformat()} is not a start time of '{plan.code}'.")
        old = booking.starts_at
        capacity.release(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
        capacity.allocate(
            session,
            site,
            engagement_kind=ENGAGEMENT,
            engagement_id=booking.id,
            demands=(*plan.demands, *companions),
            start=starts_at,
            now=now,
            expires_at=booking.hold_expires_at,
        )
        booking.starts_at = starts_at
        booking.ends_at = starts_at + plan.duration
        booking.updated_at = now
        lifecycle.audit_change(
            session,
            actor,
            booking.id,
            "moved",
            now,
            from_=old.isoformat(),
            to=starts_at.isoformat(),
        )
        return booking

    return with_resources(session, run_write(session, write))


def expire_holds(session: Session, *, now: datetime | None = None) -> int:
    """The sweeper: lapsed holds become expired and give their units back."""
    now = now or utcnow()

    def write() -> int:
        ids = session.scalars(
            select(Booking.id).where(
                Booking.status == BookingStatus.HELD, Booking.hold_expires_at <= now
            )
        ).all()
        if not ids:
            return 0
        session.execute(
            update(Booking)
            .where(Booking.id.in_(ids))
            .values(status=BookingStatus.EXPIRED, updated_at=now)
        )
        capacity.release_lapsed(session, now)
        lifecycle.notify_released(session, ids, "expired")
        audit.record_many(
            session,
            (
                audit.entry(
                    actor="system", subject_kind=ENGAGEMENT, subject_id=i, action="expired", at=now
                )
                for i in ids
            ),
        )
        return len(ids)

    return run_write(session, write)


def _replay(session: Session, key: str, fingerprint: str) -> BookingResult | None:
    booking = session.scalar(select(Booking).where(Booking.idempotency_key == key))
    session.rollback()
    if booking is None:
        return None
    if booking.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used for a different booking request; "
            "use a new key for a new booking."
        )
    result = with_resources(session, booking)
    result.replayed = True
    return result


# --- Used by the guest pages and the operations console -------------------------------------


@dataclass(frozen=True)
class Extension:
    """What a programme built on bookings adds to a hold as it is confirmed (a dealer's code
    typed on the details page): `demands`, relative to the booking's start (which must still
    be `starts_at`), are taken with it, then `on_admitted(session, booking_id)` writes what
    belongs with the booking, all in the confirmation's transaction."""

    starts_at: datetime
    demands: Sequence[Demand]
    on_admitted: Callable[[Session, int], None]
    channel: str


def confirm_with_guest(
    session: Session,
    *,
    ref: str,
    guest: Guest,
    actor: str = "guest",
    now: datetime | None = None,
    extension: Extension | None = None,
    on_confirmed: Callable[[Session, Booking], None] | None = None,
) -> BookingResult:
    """Confirm a hold and record who the guest is, in one transaction: on the web a slot is
    held as soon as it is chosen, before the guest has typed their details. On a booking that
    is already confirmed (a form sent twice) it only updates the details; with an `extension`
    only a hold is accepted, and it keeps its row, reference and units. `on_confirmed` writes
    what belongs with the confirmation in its transaction (the guest's consents, crm)."""
    now = now or utcnow()
    allowed = {BookingStatus.HELD} if extension else {BookingStatus.HELD, BookingStatus.CONFIRMED}

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        if status == BookingStatus.EXPIRED:
            if booking.status == BookingStatus.HELD:
                lifecycle.expire(session, booking, now)
                session.commit()
            raise HoldExpired(
                f"The hold on booking {booking.ref} expired; the time was released. "
                "Please choose a time again."
            )
        lifecycle.require(booking, status, allowed, "confirm")
        booking.guest_name = guest.name
        booking.guest_email = guest.email
        booking.guest_phone = guest.phone
        booking.notes = guest.notes
        if extension is not None:
            _extend(session, booking, extension, now)
        if status == BookingStatus.HELD:
            capacity.confirm(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
            lifecycle.set_status(
                session, booking, BookingStatus.CONFIRMED, now, actor, hold_expires_at=None
            )
        else:
            booking.updated_at = now
            lifecycle.audit_change(session, actor, booking.id, "guest_updated", now)
        if on_confirmed is not None:
            on_confirmed(session, booking)
        return booking

    return with_resources(session, run_write(session, write))


def _extend(session: Session, booking: Booking, extension: Extension, now: datetime) -> None:
    if booking.starts_at != extension.starts_at:
        raise Conflict(f"Booking {booking.ref} was moved meanwhile; please try again.")
    site = session.get(Site, booking.site_id)
    assert site is not None
    capacity.allocate(
        session,
        capacity.site_clock(session, site.id, site.time_zone),
        engagement_kind=ENGAGEMENT,
        engagement_id=booking.id,
        demands=extension.demands,
        start=booking.starts_at,
        now=now,
    )
    extension.on_admitted(session, booking.id)
    booking.channel = extension.channel


def swap_unit(
    session: Session,
    *,
    ref: str,
    from_unit_id: int,
    to_unit_id: int,
    actor: str = "operations",
    now: datetime | None = None,
) -> BookingResult:
    """Give a booking's allocation of one unit to another free unit of the same pool (a car
    swapped for its twin when one has a fault), in one transaction. The new unit must be
    working and free over the allocation's whole interval; the overlap rule of the database
    still guards it against a concurrent writer."""
    now = now or utcnow()
    if from_unit_id == to_unit_id:
        raise Invalid("Choose a different unit to swap to.")

    def write() -> Booking:
        booking = lifecycle.locked(session, ref)
        status = effective_status(booking, now)
        lifecycle.require(
            booking,
            status,
            {BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN},
            "change unit",
        )
        held = session.scalar(
            select(Allocation).where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id == booking.id,
                Allocation.unit_id == from_unit_id,
                Allocation.active.is_(True),
            )
        )
        if held is None:
            raise NotFound(f"Booking {booking.ref} does not hold unit {from_unit_id}.")
        if held.ends_at <= now:
            raise InvalidTransition(f"That part of booking {booking.ref} is already over.")
        target = session.get(Unit, to_unit_id)
        member = session.scalar(
            select(pool_membership.c.unit_id).where(
                pool_membership.c.pool_id == held.pool_id,
                pool_membership.c.unit_id == to_unit_id,
            )
        )
        if target is None or member is None or target.site_id != booking.site_id:
            raise Invalid(f"Unit {to_unit_id} is not one of this booking's kind at its site.")
        if not target.active:
            raise Conflict(f"{target.label} is out of service.")
        site = session.get(Site, booking.site_id)
        assert site is not None
        clock = capacity.site_clock(session, site.id, site.time_zone)
        interval = (max(held.starts_at, now), held.ends_at)
        by_pool, lapsed = capacity.load_timelines(session, clock, [held.pool_id], interval, now)
        timeline = next((u for u in by_pool.get(held.pool_id, []) if u.unit_id == to_unit_id), None)
        if timeline is None or not is_free(timeline, interval):
            raise Conflict(
                f"{target.label} is not free from {interval[0]:%H:%M} to {interval[1]:%H:%M} UTC."
            )
        if lapsed:
            session.execute(
                update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False)
            )
        previous = session.get(Unit, from_unit_id)
        if held.starts_at < now:
            # The first part happened on the old unit: keep it, move only the rest.
            session.execute(update(Allocation).where(Allocation.id == held.id).values(ends_at=now))
        else:
            session.execute(update(Allocation).where(Allocation.id == held.id).values(active=False))
        row = {
            "engagement_kind": ENGAGEMENT,
            "engagement_id": booking.id,
            "unit_id": to_unit_id,
            "pool_id": held.pool_id,
            "starts_at": interval[0],
            "ends_at": interval[1],
            "active": True,
            "expires_at": held.expires_at,
        }
        if not capacity.insert_unless_taken(session, row):
            raise Conflict(f"{target.label} was just taken; choose another.")
        booking.updated_at = now
        lifecycle.audit_change(
            session,
            actor,
            booking.id,
            "unit_swapped",
            now,
            from_unit=previous.label if previous else from_unit_id,
            to_unit=target.label,
        )
        return booking

    return with_resources(session, run_write(session, write))
