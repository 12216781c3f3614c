"""Merge a duplicate person into a survivor, in one transaction.

Everything that hangs off the duplicate (visits, vehicles, sales, conversions, consent history)
moves to the survivor; each current consent becomes the most recent decision of the two; the
duplicate stays as a tombstone whose e-mail still leads to the survivor, so a later booking
with that address links to the right person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from paddock.crm.models import (
    BookingPerson,
    ConsentPurpose,
    Conversion,
    Person,
    PersonConsent,
    PersonKind,
    Sale,
    Vehicle,
)
from paddock.crm.people import audit, get_person, require_live
from paddock.db import utcnow
from paddock.errors import Forbidden, Invalid
from paddock.unit_of_work import run_write


@dataclass(frozen=True)
class MergeResult:
    survivor: Person
    moved: dict[str, int]


def merge_people(
    session: Session,
    *,
    survivor_id: int,
    duplicate_id: int,
    actor: str,
    scope_dealer_id: int | None = None,
    is_admin: bool = False,
    now: datetime | None = None,
) -> MergeResult:
    """Dealer staff (`scope_dealer_id`) merge only their own contacts; people of two different
    dealers are merged only by a centre admin."""
    now = now or utcnow()
    if survivor_id == duplicate_id:
        raise Invalid("A person cannot be merged into themselves.")

    def write() -> MergeResult:
        # Lock in id order, like every writer that touches two people.
        first, second = sorted((survivor_id, duplicate_id))
        people = {
            p.id: p
            for p in (
                _locked(session, first, scope_dealer_id),
                _locked(session, second, scope_dealer_id),
            )
        }
        survivor, duplicate = people[survivor_id], people[duplicate_id]
        require_live(survivor)
        require_live(duplicate)
        owners = {survivor.dealer_id, duplicate.dealer_id} - {None}
        if len(owners) > 1 and not is_admin:
            raise Forbidden(
                f"Person #{survivor_id} and #{duplicate_id} belong to different dealers; "
                "only a centre admin can merge them."
            )
        moved = _move_everything(session, survivor, duplicate)
        _merge_fields(survivor, duplicate)
        _merge_consents(survivor, duplicate)
        survivor.updated_at = now
        # The tombstone keeps only its e-mail, as an alias of the survivor.
        duplicate.merged_into_id = survivor.id
        duplicate.name = ""
        duplicate.phone = ""
        duplicate.notes = ""
        duplicate.updated_at = now
        session.execute(
            update(Person)
            .where(Person.merged_into_id == duplicate.id)
            .values(merged_into_id=survivor.id)
        )
        audit(
            session,
            actor=actor,
            person_id=survivor.id,
            action="merged",
            now=now,
            duplicate=duplicate.id,
            moved=moved,
        )
        audit(
            session,
            actor=actor,
            person_id=duplicate.id,
            action="merged_into",
            now=now,
            survivor=survivor.id,
        )
        return MergeResult(survivor, moved)

    return run_write(session, write)


def _locked(session: Session, person_id: int, scope_dealer_id: int | None) -> Person:
    if session.get_bind().dialect.name == "postgresql":
        session.scalar(select(Person.id).where(Person.id == person_id).with_for_update())
    return get_person(session, person_id=person_id, dealer_id=scope_dealer_id)


def _move_everything(session: Session, survivor: Person, duplicate: Person) -> dict[str, int]:
    moved: dict[str, int] = {}

    def move(name: str, statement: object) -> None:
        result = session.execute(statement)  # type: ignore[call-overload]
        moved[name] = int(getattr(result, "rowcount", 0) or 0)

    move(
        "visits",
        update(BookingPerson)
        .where(BookingPerson.person_id == duplicate.id)
        .values(person_id=survivor.id),
    )
    # A car both records know of: keep the survivor's record, re-point what used the other.
    kept: dict[str | None, int] = dict(
        session.execute(
            select(Vehicle.vin, Vehicle.id).where(
                Vehicle.person_id == survivor.id, Vehicle.vin.is_not(None)
            )
        ).all()
    )
    doubles = session.execute(
        select(Vehicle.id, Vehicle.vin).where(
            Vehicle.person_id == duplicate.id, Vehicle.vin.in_(list(kept))
        )
    ).all()
    for vehicle_id, vin in doubles:
        session.execute(
            update(Sale).where(Sale.vehicle_id == vehicle_id).values(vehicle_id=kept[vin])
        )
        session.execute(delete(Vehicle).where(Vehicle.id == vehicle_id))
    move(
        "vehicles",
        update(Vehicle).where(Vehicle.person_id == duplicate.id).values(person_id=survivor.id),
    )
    moved["vehicles"] += len(doubles)
    move("sales", update(Sale).where(Sale.person_id == duplicate.id).values(person_id=survivor.id))
    move(
        "conversions",
        update(Conversion)
        .where(Conversion.person_id == duplicate.id)
        .values(person_id=survivor.id),
    )
    move(
        "consents",
        update(PersonConsent)
        .where(PersonConsent.person_id == duplicate.id)
        .values(person_id=survivor.id),
    )
    return moved


def _merge_fields(survivor: Person, duplicate: Person) -> None:
    if not survivor.phone and duplicate.phone:
        survivor.phone = duplicate.phone
    if duplicate.notes:
        survivor.notes = "\n".join(n for n in (survivor.notes, duplicate.notes) if n)
    if PersonKind.CLIENT in (survivor.kind, duplicate.kind):
        survivor.kind = PersonKind.CLIENT
    if survivor.dealer_id is None:
        survivor.dealer_id = duplicate.dealer_id


def _merge_consents(survivor: Person, duplicate: Person) -> None:
    """The most recent decision wins, whichever record it was made on."""
    for purpose in ConsentPurpose:
        flag, stamp = f"consent_{purpose}", f"consent_{purpose}_at"
        theirs = getattr(duplicate, stamp)
        ours = getattr(survivor, stamp)
        if theirs is not None and (ours is None or theirs > ours):
            setattr(survivor, flag, getattr(duplicate, flag))
            setattr(survivor, stamp, theirs)
