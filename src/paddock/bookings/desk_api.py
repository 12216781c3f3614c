"""The operations desk as JSON: a booking taken by phone, a cancellation with its reason, a
unit blocked with its bookings moved (and the guests to call), the day's run sheet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from paddock.accounts.access import BookingDesk, BookingsReader, FleetWriter
from paddock.bookings import desk, service
from paddock.bookings.desk_schemas import (
    BlockAndMove,
    BlockReportRead,
    DeskCancel,
    PhoneBooking,
    RunSheetRead,
)
from paddock.bookings.schemas import BookingRead
from paddock.http import SessionDep
from paddock.limits import Day, Id

router = APIRouter(prefix="/api/v1/desk", tags=["operations desk"])


@router.post("/bookings", response_model=BookingRead, status_code=201)
def phone_booking(
    body: PhoneBooking,
    response: Response,
    session: SessionDep,
    user: BookingDesk,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> BookingRead:
    """Book for a guest on the phone: confirmed at once, channel "phone", the staff member
    as the audit's actor (products not sold online included). A retry with the same
    `Idempotency-Key` header gets the first booking."""
    result = desk.take_phone_booking(
        session,
        product_code=body.product,
        starts_at=body.starts_at,
        guest=service.Guest(body.guest.name, str(body.guest.email), body.guest.phone, body.notes),
        actor=user.actor,
        idempotency_key=idempotency_key,
    )
    if result.replayed:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/bookings/{result.booking.ref}"
    return BookingRead.from_result(result, with_token=True)


@router.post("/bookings/{ref}/cancel", response_model=BookingRead)
def cancel(ref: str, body: DeskCancel, session: SessionDep, user: BookingDesk) -> BookingRead:
    """Cancel for the guest with a reason (required; kept on the booking and in its audit).
    The guest's own cancellation deadline does not bind staff."""
    return BookingRead.from_result(
        desk.cancel_with_reason(session, ref=ref, reason=body.reason, actor=user.actor)
    )


@router.post("/units/{unit_id}/block", response_model=BlockReportRead, status_code=201)
def block_and_move(
    unit_id: Id, body: BlockAndMove, session: SessionDep, user: FleetWriter
) -> BlockReportRead:
    """Block a unit (a car with a fault) and move its bookings in that time to free units of
    the same model, in one transaction; `to_call` lists those that could not be moved."""
    return BlockReportRead.from_report(
        desk.block_and_move(
            session,
            unit_id=unit_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            kind=body.kind,
            actor=user.actor,
        )
    )


@router.get("/run-sheet", response_model=RunSheetRead)
def run_sheet(site: str, day: Day, session: SessionDep, user: BookingsReader) -> RunSheetRead:
    """A site's bookings on one local day, in start order, with guests' phones and units."""
    return RunSheetRead.from_sheet(desk.run_sheet(session, site_code=site, day=day))
