"""The dealer directory: dealers, and their test-drive places (allotments) per site and month.

Read and changed through a `Scope`: a dealer's staff only ever reach their own dealer; another
dealer is "not found". Public functions that write own their transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope, normalize_email
from paddock.audit import service as audit
from paddock.catalog import service as catalog
from paddock.dealers import allotments
from paddock.dealers.models import REGIONS, Dealer
from paddock.errors import Conflict, Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.unit_of_work import write_transaction

DEALER_CODE_PATTERN = re.compile(r"^D-[A-Z]{2,4}-\d{3}$")

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
        record_audit(session, actor, "dealer", dealer.id, "created", code=code)
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
    return session.scalars(keyset_page(query, Dealer.id, after=after_id, limit=limit)).all()


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
        record_audit(
            session, actor, "dealer", dealer_id, "allotment", month=f"{month:%Y-%m}", places=places
        )
    return result


# Helpers ----------------------------------------------------------------------------------


def record_audit(
    session: Session, actor: str, kind: str, subject_id: int, action: str, **data: Any
) -> None:
    """An audit entry for a change to a dealer's rows, in the caller's transaction."""
    audit.record(
        session, actor=actor, subject_kind=kind, subject_id=subject_id, action=action, **data
    )
