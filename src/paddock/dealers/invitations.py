"""Invitations, as a guest meets them: what a code allows (look-up), the free start times it
offers (within its dates and the dealer's places left per month), and booking with it (one
transaction: the booking, the code's use counted and the booking attributed to the dealer),
or confirming a held booking with a code (one transaction too, the booking kept)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.capacity.engine import Demand, Shortfall, Slot
from paddock.capacity.models import Site
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.dealers import allotments
from paddock.dealers.codes import code_key, invitation_path
from paddock.dealers.errors import (
    AllotmentExhausted,
    InvitationExpired,
    InvitationNotFound,
    InvitationNotValidForDate,
    InvitationNotValidForProduct,
    InvitationUsedUp,
)
from paddock.dealers.models import BookingAttribution, Campaign, Dealer, InvitationCode, Invitee
from paddock.errors import Conflict, SoldOut
from paddock.unit_of_work import end_read, read_only

# Invitations: what a code allows, and booking with it -------------------------------------


@dataclass(frozen=True)
class InvitationProduct:
    code: str
    name: str
    site: str
    duration_minutes: int
    price_cents: int
    currency: str


@dataclass(frozen=True)
class Invitation:
    """A code and what it allows, read once (plain values: safe across transactions)."""

    id: int
    code: str
    kind: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    dealer_city: str
    dealer_state: str
    campaign_id: int
    campaign_name: str
    campaign_archived: bool
    invitee_id: int | None
    invitee_name: str
    invitee_email: str
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    revoked: bool
    drive_from: date
    drive_to: date
    products: tuple[InvitationProduct, ...] = field(default_factory=tuple)

    @property
    def uses_left(self) -> int | None:
        return None if self.max_uses is None else max(self.max_uses - self.uses, 0)

    @property
    def link(self) -> str:
        return invitation_path(self.code)


def find_invitation(session: Session, *, code: str) -> Invitation:
    """The code as typed or linked (case, spaces, dashes and look-alike characters do not
    matter: `codes.code_key`), or InvitationNotFound."""
    key = code_key(code)
    row = (
        session.execute(
            select(InvitationCode, Campaign, Dealer, Invitee.name, Invitee.email)
            .join(Campaign, Campaign.id == InvitationCode.campaign_id)
            .join(Dealer, Dealer.id == InvitationCode.dealer_id)
            .outerjoin(Invitee, Invitee.id == InvitationCode.invitee_id)
            .where(InvitationCode.code_key == key)
        ).first()
        if 4 <= len(key) <= 40
        else None
    )
    if row is None:
        raise InvitationNotFound(
            "We do not know this invitation code. Check it against your invitation, "
            "or ask your dealer."
        )
    ic, campaign, dealer, invitee_name, invitee_email = row
    products = session.execute(
        select(Product, Site.code)
        .join(Campaign.products)
        .join(Site, Site.id == Product.site_id)
        .where(Campaign.id == campaign.id, Product.active.is_(True))
        .order_by(Product.id)
    ).all()
    return Invitation(
        id=ic.id,
        code=ic.code,
        kind=ic.kind,
        dealer_id=dealer.id,
        dealer_code=dealer.code,
        dealer_name=dealer.name,
        dealer_city=dealer.city,
        dealer_state=dealer.state,
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        campaign_archived=campaign.archived_at is not None,
        invitee_id=ic.invitee_id,
        invitee_name=invitee_name or "",
        invitee_email=invitee_email or "",
        max_uses=ic.max_uses,
        uses=ic.uses,
        expires_at=ic.expires_at,
        revoked=ic.revoked_at is not None,
        drive_from=max(campaign.drive_from, ic.drive_from or campaign.drive_from),
        drive_to=min(campaign.drive_to, ic.drive_to or campaign.drive_to),
        products=tuple(
            InvitationProduct(
                p.code, p.name, site_code, p.duration_minutes, p.price_cents, p.currency
            )
            for p, site_code in products
        ),
    )


def check_usable(invitation: Invitation, now: datetime) -> None:
    """Refuse a code that is withdrawn, closed, expired, past its dates or used up."""
    if invitation.revoked:
        raise InvitationExpired("This invitation was withdrawn by the dealer.")
    if invitation.campaign_archived:
        raise InvitationExpired("The campaign this invitation belongs to has ended.")
    if invitation.expires_at is not None and invitation.expires_at <= now:
        raise InvitationExpired(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d} (UTC)."
        )
    # A day of slack: the last drive day may still be running at a site west of UTC.
    if invitation.drive_to < (now - timedelta(days=1)).date():
        raise InvitationExpired(
            f"This invitation was for drives until {invitation.drive_to:%Y-%m-%d}."
        )
    if invitation.uses_left == 0:
        raise InvitationUsedUp(
            "This invitation has already been used."
            if invitation.max_uses == 1
            else f"All {invitation.max_uses} places of this invitation are taken."
        )


def get_invitation(session: Session, *, code: str, now: datetime | None = None) -> Invitation:
    """What the guest page shows for a code; refuses a code that can no longer be used."""
    invitation = find_invitation(session, code=code)
    end_read(session)
    check_usable(invitation, now or utcnow())
    return invitation


@dataclass(frozen=True)
class InvitationAvailability:
    invitation: Invitation
    product: InvitationProduct
    time_zone: str
    date_from: date
    date_to: date
    slots: list[Slot]
    places_left: dict[date, int]  # per local month: the dealer's places still free


def invitation_availability(
    session: Session,
    *,
    code: str,
    product_code: str,
    date_from: date,
    date_to: date,
    now: datetime | None = None,
) -> InvitationAvailability:
    """The product's free slots within the code's dates; a month whose dealer places are all
    taken shows its slots as full, naming the dealer's places as the short resource."""
    now = now or utcnow()
    invitation = get_invitation(session, code=code, now=now)
    product = _allowed_product(invitation, product_code)
    lo, hi = max(date_from, invitation.drive_from), min(date_to, invitation.drive_to)
    if hi < lo:
        raise InvitationNotValidForDate(_dates_message(invitation, date_from))
    result = catalog.availability(
        session, product_code=product.code, date_from=lo, date_to=hi, now=now
    )
    zone = ZoneInfo(result.site.time_zone)
    site_id = result.site.id
    months: list[date] = []
    month = allotments.first_of_month(lo)
    while month <= hi:
        months.append(month)
        month = allotments.next_month(month)
    known = {
        s.month: s
        for s in allotments.statuses(
            session,
            dealer_ids=[invitation.dealer_id],
            month_from=months[0],
            month_to=months[-1],
            site_id=site_id,
            now=now,
        )
    }
    default = session.scalar(
        select(Dealer.monthly_allotment).where(Dealer.id == invitation.dealer_id)
    )
    end_read(session)
    left = {m: known[m].remaining if m in known else int(default or 0) for m in months}
    slots: list[Slot] = []
    for slot in result.slots:
        slot_month = allotments.local_month(slot.starts_at, zone)
        month_left = left.get(slot_month, 0)
        if month_left > 0:
            slots.append(Slot(slot.starts_at, slot.ends_at, slot.remaining, slot.shortfall))
            continue
        slots.append(
            Slot(
                slot.starts_at,
                slot.ends_at,
                0,
                Shortfall(
                    allotments.pool_code(
                        invitation.dealer_code, allotments.local_month(slot.starts_at, zone)
                    ),
                    f"{invitation.dealer_name} test-drive places",
                    slot.starts_at,
                    slot.ends_at,
                    1,
                    0,
                ),
            )
        )
    return InvitationAvailability(invitation, product, result.site.time_zone, lo, hi, slots, left)


def book_with_code(
    session: Session,
    *,
    code: str,
    product_code: str,
    starts_at: datetime,
    guest: bookings.Guest,
    hold: bool = False,
    hold_minutes: int = 10,
    idempotency_key: str | None = None,
    channel: str = "invitation",
    actor: str = "guest",
    now: datetime | None = None,
) -> bookings.BookingResult:
    """Book with an invitation code. Admitted only if the product's resources AND one of the
    dealer's places for that month are free; in the same transaction the code's use is counted
    (never past its max, even under concurrent use) and the booking attributed to the dealer
    (and, for a personal code, to its invitee)."""
    now = now or utcnow()
    if idempotency_key:
        previous = _replay(session, idempotency_key, code)
        if previous is not None:
            return previous
    invitation = find_invitation(session, code=code)
    check_usable(invitation, now)
    product = _allowed_product(invitation, product_code)
    plan = catalog.product_plan(session, code=product.code)
    zone = ZoneInfo(plan.time_zone)
    day = starts_at.astimezone(zone).date()
    if not invitation.drive_from <= day <= invitation.drive_to:
        raise InvitationNotValidForDate(_dates_message(invitation, day))
    place, demand = _month_place(session, invitation, plan.site_id, zone, starts_at)
    try:
        return bookings.create_booking(
            session,
            product_code=plan.code,
            starts_at=starts_at,
            guest=guest,
            hold=hold,
            hold_minutes=hold_minutes,
            idempotency_key=idempotency_key,
            channel=channel,
            actor=actor,
            now=now,
            extra_demands=[demand],
            on_admitted=lambda tx, booking_id: _count_use(tx, invitation, booking_id, now),
        )
    except SoldOut as exc:
        if _short_of_place(exc, place):
            raise _exhausted(invitation, place) from exc
        raise


@dataclass(frozen=True)
class ConfirmedWithCode:
    result: bookings.BookingResult
    invitation: Invitation


def confirm_hold_with_code(
    session: Session,
    *,
    ref: str,
    code: str,
    guest: bookings.Guest,
    actor: str = "guest",
    now: datetime | None = None,
    on_confirmed: Callable[[Session, Booking], None] | None = None,
) -> ConfirmedWithCode:
    """A code typed while confirming a held booking (the guest's details page). In one
    transaction the hold takes one of the dealer's places for its month, the code's use is
    counted, the booking is attributed and confirmed with the guest's details; it keeps its
    row, reference and units. A refused code changes nothing: the hold stays as it was."""
    now = now or utcnow()
    invitation = find_invitation(session, code=code)
    check_usable(invitation, now)
    held = bookings.get_booking(session, ref=ref)
    start = held.booking.starts_at
    if attribution_of(session, booking_id=held.booking.id) is not None:
        end_read(session)
        raise Conflict("This booking already came with an invitation.")
    plan = catalog.product_plan(session, code=held.product_code)
    zone = ZoneInfo(plan.time_zone)
    _check_fits(invitation, plan.code, start.astimezone(zone).date())
    place, demand = _month_place(session, invitation, plan.site_id, zone, start)
    extension = bookings.Extension(
        starts_at=start,
        demands=[demand],
        on_admitted=lambda tx, booking_id: _count_use(tx, invitation, booking_id, now),
        channel="invitation",
    )
    try:
        result = bookings.confirm_with_guest(
            session,
            ref=ref,
            guest=guest,
            actor=actor,
            now=now,
            extension=extension,
            on_confirmed=on_confirmed,
        )
    except SoldOut as exc:
        if _short_of_place(exc, place):
            raise _exhausted(invitation, place) from exc
        raise
    return ConfirmedWithCode(result, invitation)


def attribution_of(session: Session, *, booking_id: int) -> BookingAttribution | None:
    return session.get(BookingAttribution, booking_id)


# Helpers ----------------------------------------------------------------------------------


def _month_place(
    session: Session, invitation: Invitation, site_id: int, zone: ZoneInfo, starts_at: datetime
) -> tuple[allotments.AllotmentStatus, Demand]:
    """The dealer's places for the month of `starts_at` (refused when none is left), and the
    demand for one of them."""
    month = allotments.local_month(starts_at, zone)
    place = allotments.ensure(session, dealer_id=invitation.dealer_id, site_id=site_id, month=month)
    if place.remaining <= 0:
        raise _exhausted(invitation, place)
    return place, allotments.place_demand(place, invitation.dealer_name, zone, starts_at)


def _count_use(tx: Session, invitation: Invitation, booking_id: int, now: datetime) -> None:
    """In the booking's transaction: the code's use is counted (never past its max, even
    under concurrent use) and the booking attributed to the dealer and invitee."""
    counted = tx.execute(
        update(InvitationCode)
        .where(
            InvitationCode.id == invitation.id,
            InvitationCode.revoked_at.is_(None),
            or_(
                InvitationCode.max_uses.is_(None),
                InvitationCode.uses < InvitationCode.max_uses,
            ),
        )
        .values(uses=InvitationCode.uses + 1)
    )
    if getattr(counted, "rowcount", 0) != 1:
        raise InvitationUsedUp("This invitation has just been used up; no place is left.")
    tx.execute(
        insert(BookingAttribution).values(
            booking_id=booking_id,
            dealer_id=invitation.dealer_id,
            invitation_code_id=invitation.id,
            invitee_id=invitation.invitee_id,
            created_at=now,
        )
    )


def _short_of_place(exc: SoldOut, place: allotments.AllotmentStatus) -> bool:
    return place.pool_code in {s.get("pool") for s in exc.extra.get("shortfalls", [])}


def _check_fits(invitation: Invitation, product_code: str, day: date) -> None:
    """Refuse, in the guest's words, a code that is not for this experience or this day."""
    if product_code not in {p.code for p in invitation.products}:
        names = ", ".join(p.name for p in invitation.products) or "no experience"
        raise InvitationNotValidForProduct(
            f"This invitation is for {names}, not for the experience you chose."
        )
    if not invitation.drive_from <= day <= invitation.drive_to:
        raise InvitationNotValidForDate(
            f"This invitation is for drives from {invitation.drive_from:%-d %B} to "
            f"{invitation.drive_to:%-d %B %Y}; please choose a day in that range."
        )


def _allowed_product(invitation: Invitation, product_code: str) -> InvitationProduct:
    for product in invitation.products:
        if product.code == product_code.strip():
            return product
    names = ", ".join(p.name for p in invitation.products) or "no experience"
    raise InvitationNotValidForProduct(
        f"This invitation is for: {names}; not for '{product_code}'."
    )


def _dates_message(invitation: Invitation, day: date) -> str:
    return (
        f"This invitation is for drives from {invitation.drive_from:%Y-%m-%d} to "
        f"{invitation.drive_to:%Y-%m-%d}; {day:%Y-%m-%d} is outside those dates."
    )


def _exhausted(invitation: Invitation, place: allotments.AllotmentStatus) -> AllotmentExhausted:
    return AllotmentExhausted(
        f"{invitation.dealer_name} has no test-drive places left for {place.month:%B %Y} "
        f"({place.places} place(s) in its allotment). Try another month or ask your dealer.",
        binding_pool=place.pool_code,
        month=f"{place.month:%Y-%m}",
        places=place.places,
    )


def _replay(session: Session, key: str, code: str) -> bookings.BookingResult | None:
    """A retried request (same Idempotency-Key) gets the first booking back, even though the
    code may be used up by that very booking."""
    with read_only(session):
        row = session.execute(
            select(Booking.ref, InvitationCode.code)
            .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
            .outerjoin(InvitationCode, InvitationCode.id == BookingAttribution.invitation_code_id)
            .where(Booking.idempotency_key == key)
        ).first()
        if row is None:
            return None
        ref, used_code = row
        if used_code is None or code_key(used_code) != code_key(code):
            raise Conflict(
                "This Idempotency-Key was already used for a different booking request; "
                "use a new key for a new booking."
            )
        result = bookings.get_booking(session, ref=ref)
    result.replayed = True
    return result
