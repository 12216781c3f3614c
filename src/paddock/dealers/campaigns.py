"""A dealer's invitation campaigns, their shared codes and their invitees (each with a personal,
single-use code). Scoped like the directory: another dealer's campaign is "not found". Public
functions that write own their transaction; `write_invitees` writes in the caller's (the CSV
import's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from paddock.accounts.service import Scope
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.dealers import rules
from paddock.dealers.codes import CODE_PATTERN, code_key, new_code, normalize_code
from paddock.dealers.directory import get_dealer, record_audit
from paddock.dealers.models import BookingAttribution, Campaign, Dealer, InvitationCode, Invitee
from paddock.errors import Conflict, Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.unit_of_work import write_transaction

MAX_USES_LIMIT = 100_000
GOOD_CODE = (
    "A good code has at least 8 letters and digits, mixed, that do not spell words with a "
    "number (e.g. K7QM-4XPD); or leave the code out and one is generated."
)

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
        record_audit(session, scope.actor, "campaign", campaign.id, "created", dealer_id=dealer_id)
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
    return session.scalars(keyset_page(query, Campaign.id, after=after_id, limit=limit)).all()


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
            record_audit(session, scope.actor, "campaign", campaign.id, "archived")
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
        refuse_near_duplicate(session, text, campaign.id)
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
        record_audit(session, scope.actor, "invitation_code", row.id, "created", code=text)
    return row


def refuse_near_duplicate(session: Session, text: str, campaign_id: int) -> None:
    """A code that reads like one that exists (same letters and digits once dashes, case and
    look-alikes are set aside) would be the same code to a guest: refused."""
    clash = session.execute(
        select(InvitationCode.code, InvitationCode.campaign_id).where(
            InvitationCode.code_key == code_key(text)
        )
    ).first()
    if clash is None:
        return
    if clash.code != text and clash.campaign_id == campaign_id:
        raise Conflict(
            f"The code {text} reads like {clash.code}, already in this campaign: guests could "
            "not tell them apart. Choose another."
        )
    raise Conflict(f"The code {text} is taken; choose another.")


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
    page = keyset_page(query, InvitationCode.id, after=after_id, limit=limit)
    return session.scalars(page).all()


def revoke_code(
    session: Session, *, scope: Scope, code: str, campaign_id: int | None = None
) -> InvitationCode:
    """Withdraw a code: it stops working at once; bookings already made stand."""
    with write_transaction(session):
        row = session.scalar(
            select(InvitationCode).where(InvitationCode.code_key == code_key(code))
        )
        if (
            row is None
            or not scope.allows(row.dealer_id)
            or (campaign_id is not None and row.campaign_id != campaign_id)
        ):
            raise NotFound(f"No invitation code '{code}'.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            record_audit(session, scope.actor, "invitation_code", row.id, "revoked")
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
    record_audit(session, actor, "campaign", campaign.id, "invited", count=len(ids), source=source)
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
    rows = session.execute(keyset_page(query, Invitee.id, after=after_id, limit=limit)).all()
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
