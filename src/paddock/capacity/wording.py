"""What guests read about a pool: its public wording ("no <wording> free"), never the
internal name staff use ("Kick plate", "Porsche Atlanta test-drive places December 2026").
A pool's own `public_name` when set, else its kind's wording."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.capacity.models import Pool, Site
from paddock.errors import Invalid, NotFound
from paddock.unit_of_work import write_transaction

# The kind's wording (migration 0014 wrote the same into the rows it found).
KIND_WORDING = {
    "module": "track time",
    "seat": "classroom seats",
    "coach": "driving coaches",
    "simulator": "simulators",
    "bay": "handover bays",
    "dealer_allotment": "test-drive places on your dealer's invitation",
    "customer_vehicle": "places",
}
GENERIC = "places"
MAX_LENGTH = 200


def default_wording(kind: str, name: str) -> str:
    """A sensible wording for a pool that has none: a car model's name is public ("911 GT3
    cars"); other pools say what they are without naming them."""
    if kind == "vehicle_model":
        return f"{name} cars"[:MAX_LENGTH]
    return KIND_WORDING.get(kind, GENERIC)


def public_wording(pool: Pool) -> str:
    return pool.public_name.strip() or default_wording(pool.kind, pool.name)


def guest_reason(wording: str) -> str:
    """Why a time is full, for guests."""
    return f"Fully booked: no {wording} free" if wording else "Fully booked"


def set_public_name(
    session: Session, *, site_code: str, pool_code: str, wording: str, actor: str
) -> Pool:
    """Change what guests read about a pool (empty: back to its kind's wording)."""
    text = " ".join(wording.split())
    if len(text) > MAX_LENGTH:
        raise Invalid(f"A pool's wording is at most {MAX_LENGTH} characters.")
    with write_transaction(session):
        pool = session.scalar(
            select(Pool)
            .join(Site, Site.id == Pool.site_id)
            .where(func.upper(Site.code) == site_code.strip().upper(), Pool.code == pool_code)
        )
        if pool is None:
            raise NotFound(f"No pool '{pool_code}' at site '{site_code}'.")
        before = pool.public_name
        pool.public_name = text
        audit.record(
            session,
            actor=actor,
            subject_kind="pool",
            subject_id=pool.id,
            action="public_name_changed",
            previous=before,
            public_name=text,
        )
    return pool
