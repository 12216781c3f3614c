"""Dealer use cases: dealers, allotments, campaigns, codes, invitees, booking with a code and
what a dealer sees of its attributed bookings.

Everything a dealer owns is read and changed through a `Scope`: a dealer's staff (or token)
only ever reach their own dealer's rows; another dealer's are "not found", never "forbidden",
so not even their existence leaks. Public functions that write own their transaction."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from paddock import csv_files
from paddock.accounts.service import Scope, normalize_email
from paddock.audit import service as audit
from paddock.bookings import service as booking_service
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.engine import Shortfall, Slot
from paddock.capacity.models import Site
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.db import utcnow, write_transaction
from paddock.dealers import allotments, rules
from paddock.dealers.errors import (
    AllotmentExhausted,
    InvitationExpired,
    InvitationNotFound,
    InvitationNotValidForDate,
    InvitationNotValidForProduct,
    InvitationUsedUp,
)
from paddock.dealers.models import (
    REGIONS,
    BookingAttribution,
    Campaign,
    Dealer,
    InvitationCode,
    Invitee,
)
from paddock.errors import Conflict, Invalid, NotFound, SoldOut

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
DEALER_CODE_PATTERN = re.compile(r"^D-[A-Z]{2,4}-\d{3}$")
MAX_USES_LIMIT = 100_000
GOOD_CODE = (
    "A good code has at least 8 letters and digits, mixed, that do not spell words with a "
    "number (e.g. K7QM-4XPD); or leave the code out and one is generated."
)
PAGE_MAX = 500
INVITATION_PATH = "/invite/"  # the guest page of a personal link: INVITATION_PATH + code


# Codes ------------------------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """What a guest typed, as stored: no whitespace anywhere, upper case."""
    return "".join(text.split()).upper()


def new_code() -> str:
    """A personal or generated code: 12 random characters (60 bits), in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def invitation_path(code: str) -> str:
    return INVITATION_PATH + code


# Dealers ----------------------------------------------------------------------------------


def create_dealer(
    session: Session,
    *,
    code: str,
    name: str,
    city: str,
    state: str,
    region: str,
    home_site: str | None = None,
    email: str = "",
    phone: str = "",
    monthly_allotment: int = 4,
    actor: str = "system",
) -> Dealer:
    code = code.strip().upper()
    if not DEALER_CODE_PATTERN.match(code):
        raise Invalid(f"'{code}' is not a dealer code like D-ATL-001.")
    if region not in REGIONS:
        raise Invalid(f"Unknown region '{region}'; one of: {', '.join(REGIONS)}.")
    if not name.strip() or len(state.strip()) != 2:
        raise Invalid("A dealer needs a name and a two-letter state.")
    if not 0 <= monthly_allotment <= allotments.MAX_PLACES:
        raise Invalid(f"A monthly allotment is 0 to {allotments.MAX_PLACES} places.")
    with write_transaction(session):
        site_id = catalog.get_site(session, code=home_site).id if home_site else None
        if session.scalar(select(Dealer.id).where(Dealer.code == code)) is not None:
            raise Conflict(f"A dealer with code {code} already exists.")
        dealer = Dealer(
            code=code,
            name=" ".join(name.split()),
            city=city.strip(),
            state=state.strip().upper(),
            region=region,
            home_site_id=site_id,
            email=normalize_email(email) if email else "",
            phone=phone.strip(),
            monthly_allotment=monthly_allotment,
        )
        session.add(dealer)
        session.flush()
        _audit(session, actor, "dealer", dealer.id, "created", code=code)
    return dealer


def get_dealer(session: Session, *, code: str, scope: Scope) -> Dealer:
    dealer = session.scalar(select(Dealer).where(Dealer.code == code.strip().upper()))
    if dealer is None or not scope.allows(dealer.id):
        raise NotFound(f"No dealer with code '{code}'.")
    return dealer


def list_dealers(
    session: Session,
    *,
    scope: Scope,
    region: str | None = None,
    search: str | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> Sequence[Dealer]:
    query = select(Dealer)
    if scope.dealer_id is not None:
        query = query.where(Dealer.id == scope.dealer_id)
    if region:
        query = query.where(Dealer.region == region)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Dealer.name).like(like),
                func.lower(Dealer.city).like(like),
                func.lower(Dealer.code).like(like),
            )
        )
    if after_id is not None:
        query = query.where(Dealer.id > after_id)
    return session.scalars(query.order_by(Dealer.id).limit(min(limit, PAGE_MAX))).all()


# Allotments -------------------------------------------------------------------------------


def list_allotments(
    session: Session, *, scope: Scope, dealer_code: str, month_from: date, month_to: date
) -> list[allotments.AllotmentStatus]:
    dealer = get_dealer(session, code=dealer_code, scope=scope)
    if month_to < month_from:
        raise Invalid("'to' must not be before 'from'.")
    return allotments.statuses(
        session, dealer_ids=[dealer.id], month_from=month_from, month_to=month_to
    )


def set_allotment(
    session: Session, *, dealer_code: str, site_code: str, month: date, places: int, actor: str
) -> allotments.AllotmentStatus:
    """Set a dealer's test-drive places at a site for one local month (centre staff only:
    callers check the role)."""
    dealer = get_dealer(session, code=dealer_code, scope=Scope.everything(actor))
    site = catalog.get_site(session, code=site_code)
    dealer_id, site_id = dealer.id, site.id
    result = allotments.set_places(
        session,
        dealer_id=dealer_id,
        site_id=site_id,
        month=allotments.first_of_month(month),
        places=places,
    )
    with write_transaction(session):
        _audit(
            session, actor, "dealer", dealer_id, "allotment", month=f"{month:%Y-%m}", places=places
        )
    return result


# Campaigns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    codes: int = 0
    invitees: int = 0
    bookings: int = 0


def create_campaign(
    session: Session,
    *,
    scope: Scope,
    name: str,
    products: Sequence[str],
    drive_from: date,
    drive_to: date,
    dealer_code: str | None = None,
    description: str = "",
    today: date | None = None,
) -> Campaign:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise Invalid("A campaign needs a name of 1 to 200 characters.")
    if drive_to < drive_from:
        raise Invalid("The last drive date must not be before the first.")
    if drive_to < (today or utcnow().date()):
        raise Invalid("The campaign's drive dates are already over.")
    if not products:
        raise Invalid("A campaign names at least one product its guests may drive.")
    with write_transaction(session):
        dealer_id = _dealer_for_write(session, scope, dealer_code)
        rows = session.scalars(
            select(Product).where(Product.code.in_(set(products)), Product.active.is_(True))
        ).all()
        unknown = sorted(set(products) - {p.code for p in rows})
        if unknown:
            raise Invalid(f"Unknown product(s): {', '.join(unknown)}.")
        campaign = Campaign(
            dealer_id=dealer_id,
            name=name,
            description=description.strip(),
            drive_from=drive_from,
            drive_to=drive_to,
            created_by=scope.actor,
        )
        campaign.products = list(rows)
        session.add(campaign)
        session.flush()
        _audit(session, scope.actor, "campaign", campaign.id, "created", dealer_id=dealer_id)
    return campaign


def get_campaign(session: Session, *, scope: Scope, campaign_id: int) -> Campaign:
    campaign = session.scalar(
        select(Campaign).options(selectinload(Campaign.products)).where(Campaign.id == campaign_id)
    )
    if campaign is None or not scope.allows(campaign.dealer_id):
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


def list_campaigns(
    session: Session,
    *,
    scope: Scope,
    dealer_code: str | None = None,
    include_archived: bool = False,
    limit: int = 50,
    after_id: int | None = None,
) -> Sequence[Campaign]:
    query = select(Campaign).options(selectinload(Campaign.products))
    if scope.dealer_id is not None:
        query = query.where(Campaign.dealer_id == scope.dealer_id)
    if dealer_code:
        query = query.where(
            Campaign.dealer_id == get_dealer(session, code=dealer_code, scope=scope).id
        )
    if not include_archived:
        query = query.where(Campaign.archived_at.is_(None))
    if after_id is not None:
        query = query.where(Campaign.id > after_id)
    return session.scalars(query.order_by(Campaign.id).limit(min(limit, PAGE_MAX))).all()


def campaign_stats(session: Session, campaign_ids: Sequence[int]) -> dict[int, CampaignStats]:
    """Codes, invitees and attributed bookings per campaign, three grouped queries."""
    if not campaign_ids:
        return {}
    ids = list(campaign_ids)
    codes = dict(
        session.execute(
            select(InvitationCode.campaign_id, func.count())
            .where(InvitationCode.campaign_id.in_(ids))
            .group_by(InvitationCode.campaign_id)
        ).all()
    )
    invitees = dict(
        session.execute(
            select(Invitee.campaign_id, func.count())
            .where(Invitee.campaign_id.in_(ids))
            .group_by(Invitee.campaign_id)
        ).all()
    )
    bookings = dict(
        session.execute(
            select(InvitationCode.campaign_id, func.count())
            .join(BookingAttribution, BookingAttribution.invitation_code_id == InvitationCode.id)
            .where(InvitationCode.campaign_id.in_(ids))
            .group_by(InvitationCode.campaign_id)
        ).all()
    )
    return {
        i: CampaignStats(int(codes.get(i, 0)), int(invitees.get(i, 0)), int(bookings.get(i, 0)))
        for i in ids
    }


def archive_campaign(session: Session, *, scope: Scope, campaign_id: int) -> Campaign:
    """Close a campaign: its codes stop working (bookings already made stand)."""
    with write_transaction(session):
        campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
        if campaign.archived_at is None:
            campaign.archived_at = utcnow()
            _audit(session, scope.actor, "campaign", campaign.id, "archived")
    return campaign


# Codes ------------------------------------------------------------------------------------


def create_code(
    session: Session,
    *,
    scope: Scope,
    campaign_id: int,
    code: str | None = None,
    max_uses: int | None = 1,
    expires_at: datetime | None = None,
    drive_from: date | None = None,
    drive_to: date | None = None,
    now: datetime | None = None,
) -> InvitationCode:
    """A shared code of a campaign: single-use (max_uses=1), multi-use, or (None) limited only
    by the dealer's allotment. A chosen code must be unused; otherwise one is generated."""
    now = now or utcnow()
    if max_uses is not None and not 1 <= max_uses <= MAX_USES_LIMIT:
        raise Invalid(f"max_uses is 1 to {MAX_USES_LIMIT} (or none for no limit).")
    if expires_at is not None and expires_at <= now:
        raise Invalid("The code's expiry must be in the future.")
    text = normalize_code(code) if code else new_code()
    if not CODE_PATTERN.match(text):
        raise Invalid(
            "A code is 4 to 40 letters, digits and dashes, starting with a letter or digit."
        )
    with write_transaction(session):
        campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
        if campaign.archived_at is not None:
            raise Conflict("This campaign is closed; it takes no new codes.")
        lo = drive_from or campaign.drive_from
        hi = drive_to or campaign.drive_to
        if lo < campaign.drive_from or hi > campaign.drive_to or hi < lo:
            raise Invalid(
                f"A code's drive dates lie within its campaign's "
                f"({campaign.drive_from} to {campaign.drive_to})."
            )
        dealer_code = session.scalar(select(Dealer.code).where(Dealer.id == campaign.dealer_id))
        weak = rules.code_weaknesses(text, dealer_code=dealer_code or "") if code else []
        if weak:
            raise Invalid(f"The code {text} is easy to guess: {'; '.join(weak)}. {GOOD_CODE}")
        if session.scalar(select(InvitationCode.id).where(InvitationCode.code == text)):
            raise Conflict(f"The code {text} is taken; choose another.")
        row = InvitationCode(
            code=text,
            dealer_id=campaign.dealer_id,
            campaign_id=campaign.id,
            kind="shared",
            max_uses=max_uses,
            uses=0,
            expires_at=expires_at,
            drive_from=drive_from,
            drive_to=drive_to,
            created_at=now,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(f"The code {text} is taken; choose another.") from exc
        _audit(session, scope.actor, "invitation_code", row.id, "created", code=text)
    return row


def list_codes(
    session: Session,
    *,
    scope: Scope,
    campaign_id: int,
    kind: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> Sequence[InvitationCode]:
    get_campaign(session, scope=scope, campaign_id=campaign_id)
    query = select(InvitationCode).where(InvitationCode.campaign_id == campaign_id)
    if kind:
        query = query.where(InvitationCode.kind == kind)
    if after_id is not None:
        query = query.where(InvitationCode.id > after_id)
    return session.scalars(query.order_by(InvitationCode.id).limit(min(limit, PAGE_MAX))).all()


def revoke_code(
    session: Session, *, scope: Scope, code: str, campaign_id: int | None = None
) -> InvitationCode:
    """Withdraw a code: it stops working at once; bookings already made stand."""
    with write_transaction(session):
        key = normalize_code(code)
        row = session.scalar(select(InvitationCode).where(InvitationCode.code == key))
        if (
            row is None
            or not scope.allows(row.dealer_id)
            or (campaign_id is not None and row.campaign_id != campaign_id)
        ):
            raise NotFound(f"No invitation code '{code}'.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            _audit(session, scope.actor, "invitation_code", row.id, "revoked")
    return row


# Invitees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteeRow:
    invitee: Invitee
    code: str
    bookings: int


def add_invitee(
    session: Session,
    *,
    scope: Scope,
    campaign_id: int,
    name: str,
    email: str,
    phone: str = "",
    consent_marketing: bool = False,
    product_code: str = "",
    note: str = "",
) -> InviteeRow:
    """One invitee with a personal, single-use code (send its link)."""
    with write_transaction(session):
        campaign = open_campaign(session, scope, campaign_id)
        clean, reasons = rules.check(
            rules.InviteeIn(name, email, phone, consent_marketing, product_code, note),
            products={p.code for p in campaign.products},
        )
        if clean is None:
            raise Invalid("; ".join(reasons).capitalize() + ".")
        if clean.email_key in invited_emails(session, campaign.id, [clean.email_key]):
            raise Conflict(f"{clean.email} is already invited in this campaign.")
        return write_invitees(session, campaign, [clean], source="manual", actor=scope.actor)[0]


def invited_emails(session: Session, campaign_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these (lower-cased) e-mails the campaign has already invited."""
    found: set[str] = set()
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        found.update(
            session.scalars(
                select(Invitee.email_key).where(
                    Invitee.campaign_id == campaign_id,
                    Invitee.email_key.in_(unique[start : start + 500]),
                )
            )
        )
    return found


def write_invitees(
    session: Session,
    campaign: Campaign,
    invitees: Sequence[rules.CleanInvitee],
    *,
    source: str,
    actor: str,
) -> list[InviteeRow]:
    """Insert invitees and their personal codes in the caller's transaction (two statements).
    A concurrent invitation of the same e-mail makes the whole write fail, never half of it."""
    now = utcnow()
    rows = [
        {
            "dealer_id": campaign.dealer_id,
            "campaign_id": campaign.id,
            "name": i.name,
            "email": i.email,
            "email_key": i.email_key,
            "phone": i.phone,
            "consent_marketing": i.consent_marketing,
            "product_code": i.product_code,
            "note": i.note,
            "source": source,
            "created_at": now,
        }
        for i in invitees
    ]
    codes = [new_code() for _ in invitees]
    try:
        ids = session.scalars(
            insert(Invitee).returning(Invitee.id, sort_by_parameter_order=True), rows
        ).all()
        session.execute(
            insert(InvitationCode),
            [
                {
                    "code": code,
                    "dealer_id": campaign.dealer_id,
                    "campaign_id": campaign.id,
                    "kind": "personal",
                    "invitee_id": invitee_id,
                    "max_uses": 1,
                    "uses": 0,
                    "expires_at": None,
                    "drive_from": None,
                    "drive_to": None,
                    "created_at": now,
                    "revoked_at": None,
                }
                for code, invitee_id in zip(codes, ids, strict=True)
            ],
        )
    except IntegrityError as exc:
        raise Conflict(
            "Someone invited some of these people to this campaign meanwhile; nothing was "
            "written. Check again and retry."
        ) from exc
    _audit(session, actor, "campaign", campaign.id, "invited", count=len(ids), source=source)
    return [
        InviteeRow(Invitee(id=invitee_id, **row), code, 0)
        for invitee_id, row, code in zip(ids, rows, codes, strict=True)
    ]


def list_invitees(
    session: Session,
    *,
    scope: Scope,
    campaign_id: int | None = None,
    search: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> list[InviteeRow]:
    """Invitees with their personal code and how many bookings they made; searchable by name
    or e-mail, always inside the caller's dealer."""
    if campaign_id is not None:
        get_campaign(session, scope=scope, campaign_id=campaign_id)
    query = select(Invitee, InvitationCode.code).outerjoin(
        InvitationCode, InvitationCode.invitee_id == Invitee.id
    )
    if scope.dealer_id is not None:
        query = query.where(Invitee.dealer_id == scope.dealer_id)
    if campaign_id is not None:
        query = query.where(Invitee.campaign_id == campaign_id)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Invitee.name).like(like), Invitee.email_key.like(like)))
    if after_id is not None:
        query = query.where(Invitee.id > after_id)
    rows = session.execute(query.order_by(Invitee.id).limit(min(limit, PAGE_MAX))).all()
    ids = [inv.id for inv, _ in rows]
    counts: dict[int, int] = {}
    if ids:
        counts = {
            int(i): int(n)
            for i, n in session.execute(
                select(BookingAttribution.invitee_id, func.count())
                .where(BookingAttribution.invitee_id.in_(ids))
                .group_by(BookingAttribution.invitee_id)
            )
            if i is not None
        }
    return [InviteeRow(inv, code or "", counts.get(inv.id, 0)) for inv, code in rows]


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
    """The code as typed or linked (case and spaces do not matter), or InvitationNotFound."""
    key = normalize_code(code)
    row = (
        session.execute(
            select(InvitationCode, Campaign, Dealer, Invitee.name)
            .join(Campaign, Campaign.id == InvitationCode.campaign_id)
            .join(Dealer, Dealer.id == InvitationCode.dealer_id)
            .outerjoin(Invitee, Invitee.id == InvitationCode.invitee_id)
            .where(InvitationCode.code == key)
        ).first()
        if CODE_PATTERN.match(key)
        else None
    )
    if row is None:
        raise InvitationNotFound(
            "We do not know this invitation code. Check it against your invitation, "
            "or ask your dealer."
        )
    ic, campaign, dealer, invitee_name = row
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
    session.rollback()
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
    session.rollback()
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
    guest: booking_service.Guest,
    hold: bool = False,
    hold_minutes: int = 10,
    idempotency_key: str | None = None,
    channel: str = "invitation",
    actor: str = "guest",
    now: datetime | None = None,
) -> booking_service.BookingResult:
    """Book with an invitation code. Admitted only if the product's resources AND one of the
    dealer's places for that month are free; in the same transaction the code's use is counted
    (never past its max, even under concurrent use) and the booking attributed to the dealer
    (and, for a personal code, to its invitee)."""
    now = now or utcnow()
    if idempotency_key:
        previous = _replay(session, idempotency_key, normalize_code(code))
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
    month = allotments.local_month(starts_at, zone)
    place = allotments.ensure(
        session, dealer_id=invitation.dealer_id, site_id=plan.site_id, month=month
    )
    if place.remaining <= 0:
        raise _exhausted(invitation, place)
    demand = allotments.place_demand(place, invitation.dealer_name, zone, starts_at)

    def admitted(tx: Session, booking_id: int) -> None:
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

    try:
        return booking_service.create_booking(
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
            on_admitted=admitted,
        )
    except SoldOut as exc:
        short = {s.get("pool") for s in exc.extra.get("shortfalls", [])}
        if place.pool_code in short:
            raise _exhausted(invitation, place) from exc
        raise


def attribution_of(session: Session, *, booking_id: int) -> BookingAttribution | None:
    return session.get(BookingAttribution, booking_id)


# What a dealer sees of its bookings -------------------------------------------------------


@dataclass(frozen=True)
class AttributedBooking:
    booking: Booking
    product_code: str
    dealer_code: str
    campaign_id: int | None
    campaign_name: str
    code: str
    invitee_name: str


def list_attributed_bookings(
    session: Session,
    *,
    scope: Scope,
    dealer_code: str | None = None,
    campaign_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[AttributedBooking]:
    """Bookings that came through a dealer's invitations, newest first (keyset pages)."""
    query = (
        select(
            Booking,
            Product.code,
            Dealer.code,
            Campaign.id,
            Campaign.name,
            InvitationCode.code,
            Invitee.name,
        )
        .join(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .join(Product, Product.id == Booking.product_id)
        .join(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .outerjoin(InvitationCode, InvitationCode.id == BookingAttribution.invitation_code_id)
        .outerjoin(Campaign, Campaign.id == InvitationCode.campaign_id)
        .outerjoin(Invitee, Invitee.id == BookingAttribution.invitee_id)
    )
    if scope.dealer_id is not None:
        query = query.where(BookingAttribution.dealer_id == scope.dealer_id)
    if dealer_code:
        dealer = get_dealer(session, code=dealer_code, scope=scope)
        query = query.where(BookingAttribution.dealer_id == dealer.id)
    if campaign_id is not None:
        get_campaign(session, scope=scope, campaign_id=campaign_id)
        query = query.where(InvitationCode.campaign_id == campaign_id)
    if status:
        query = query.where(Booking.status == status)
    if before_id is not None:
        query = query.where(Booking.id < before_id)
    rows = session.execute(query.order_by(Booking.id.desc()).limit(min(limit, PAGE_MAX))).all()
    return [
        AttributedBooking(b, pc, dc, cid, cname or "", code or "", iname or "")
        for b, pc, dc, cid, cname, code, iname in rows
    ]


@dataclass(frozen=True)
class DealerSummary:
    dealer: Dealer
    campaigns: int
    invitees: int
    bookings_by_status: dict[str, int]
    places: list[allotments.AllotmentStatus]

    @property
    def bookings(self) -> int:
        return sum(self.bookings_by_status.values())

    @property
    def drove(self) -> int:
        return self.bookings_by_status.get(BookingStatus.COMPLETED, 0)


def dealer_summary(
    session: Session, *, scope: Scope, dealer_code: str, today: date | None = None
) -> DealerSummary:
    dealer = get_dealer(session, code=dealer_code, scope=scope)
    today = today or utcnow().date()
    campaigns = session.scalar(
        select(func.count()).select_from(Campaign).where(Campaign.dealer_id == dealer.id)
    )
    invitees = session.scalar(
        select(func.count()).select_from(Invitee).where(Invitee.dealer_id == dealer.id)
    )
    by_status = {
        str(s): int(n)
        for s, n in session.execute(
            select(Booking.status, func.count())
            .join(BookingAttribution, BookingAttribution.booking_id == Booking.id)
            .where(BookingAttribution.dealer_id == dealer.id)
            .group_by(Booking.status)
        )
    }
    month = allotments.first_of_month(today)
    places = allotments.statuses(
        session, dealer_ids=[dealer.id], month_from=month, month_to=allotments.next_month(month)
    )
    return DealerSummary(dealer, int(campaigns or 0), int(invitees or 0), by_status, places)


def bookings_csv(rows: Sequence[AttributedBooking], time_zones: dict[int, str]) -> str:
    out = io.StringIO()
    writer = csv_files.writer(out)  # formulas in guests' and invitees' text neutralised
    writer.writerow(
        [
            "ref",
            "status",
            "product",
            "starts_at_local",
            "guest_name",
            "guest_email",
            "dealer",
            "campaign",
            "code",
            "invitee",
        ]
    )
    for r in rows:
        zone = ZoneInfo(time_zones.get(r.booking.site_id, "UTC"))
        writer.writerow(
            [
                r.booking.ref,
                r.booking.status,
                r.product_code,
                r.booking.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                r.booking.guest_name,
                r.booking.guest_email,
                r.dealer_code,
                r.campaign_name,
                r.code,
                r.invitee_name,
            ]
        )
    return out.getvalue()


def invitees_csv(rows: Sequence[InviteeRow]) -> str:
    out = io.StringIO()
    writer = csv_files.writer(out)  # formulas in guests' and invitees' text neutralised
    writer.writerow(
        ["name", "email", "phone", "consent", "product", "note", "code", "link", "bookings"]
    )
    for r in rows:
        i = r.invitee
        writer.writerow(
            [
                i.name,
                i.email,
                i.phone,
                "yes" if i.consent_marketing else "no",
                i.product_code,
                i.note,
                r.code,
                invitation_path(r.code) if r.code else "",
                r.bookings,
            ]
        )
    return out.getvalue()


def site_time_zones(session: Session) -> dict[int, str]:
    return {int(i): str(z) for i, z in session.execute(select(Site.id, Site.time_zone))}


# Helpers ----------------------------------------------------------------------------------


def open_campaign(session: Session, scope: Scope, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, scope=scope, campaign_id=campaign_id)
    if campaign.archived_at is not None:
        raise Conflict("This campaign is closed; it takes no new invitees.")
    return campaign


def _dealer_for_write(session: Session, scope: Scope, dealer_code: str | None) -> int:
    """The dealer a write is for: a dealer's own staff write only for their dealer (naming
    another one is 'not found'); centre staff must name it."""
    if scope.dealer_id is not None:
        if dealer_code:
            get_dealer(session, code=dealer_code, scope=scope)
        return scope.dealer_id
    if not dealer_code:
        raise Invalid("Name the dealer (its code, e.g. D-ATL-001).")
    return get_dealer(session, code=dealer_code, scope=scope).id


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


def _replay(session: Session, key: str, code: str) -> booking_service.BookingResult | None:
    """A retried request (same Idempotency-Key) gets the first booking back, even though the
    code may be used up by that very booking."""
    row = session.execute(
        select(Booking.ref, InvitationCode.code)
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .outerjoin(InvitationCode, InvitationCode.id == BookingAttribution.invitation_code_id)
        .where(Booking.idempotency_key == key)
    ).first()
    if row is None:
        session.rollback()
        return None
    ref, used_code = row
    if used_code != code:
        session.rollback()
        raise Conflict(
            "This Idempotency-Key was already used for a different booking request; "
            "use a new key for a new booking."
        )
    result = booking_service.get_booking(session, ref=ref)
    session.rollback()
    result.replayed = True
    return result


def _audit(
    session: Session, actor: str, kind: str, subject_id: int, action: str, **data: Any
) -> None:
    audit.record(
        session, actor=actor, subject_kind=kind, subject_id=subject_id, action=action, **data
    )
