"""Bookings as JSON: create (idempotent), read, confirm, move, cancel, check in, complete."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from paddock.accounts.access import BookingDesk, BookingsReader
from paddock.bookings import guest, per_address, service
from paddock.bookings.schemas import (
    AuditRead,
    BookingCancel,
    BookingCreate,
    BookingMove,
    BookingRead,
)
from paddock.catalog import service as catalog
from paddock.errors import Invalid, NotFound
from paddock.http import SessionDep
from paddock.limits import Day, Id

router = APIRouter(prefix="/api/v1/bookings", tags=["bookings"])


@router.post(
    "",
    response_model=BookingRead,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BookingCreate"}}
            },
        },
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "maxLength": 200},
                "description": "A retried request with the same key returns the first booking.",
            }
        ],
    },
    responses={
        200: {"description": "A retried request (same Idempotency-Key): the first booking"},
        409: {"description": "Sold out (problem+json names the short pool)"},
        503: {"description": "Busy: retry"},
    },
)
async def create_booking(request: Request) -> Response:
    """Admit a booking only if every resource it needs is free. Send an `Idempotency-Key`
    header so that a retried request never books twice."""
    # The hottest endpoint: its body is parsed and validated by pydantic in one pass, the
    # request built once, booked by the app's way (bookings/on_loop.py), and the answer
    # serialised once, here.
    per_address.admit(request)  # in memory: no database round trip (throttle.LocalTally)
    body = _parse(BookingCreate, await request.body())
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > MAX_KEY:
        raise Invalid(f"Idempotency-Key: at most {MAX_KEY} characters.")
    state = request.app.state
    booking = service.BookingRequest(
        product_code=body.product,
        starts_at=body.starts_at,
        guest=service.Guest(body.guest.name, body.guest.email, body.guest.phone, body.notes),
        hold=body.hold,
        hold_minutes=state.settings.hold_minutes,
        idempotency_key=idempotency_key,
        channel="api",
        actor=f"guest:{body.guest.email}",
        public_only=True,
    )
    try:
        # On the event loop (PostgreSQL) or in a worker thread (SQLite), chosen at start.
        result = await state.bookings.create(booking)
    except NotFound as exc:
        # /bookings exists; the body names a product that does not: invalid input.
        raise Invalid(exc.detail, errors=[{"field": "product", "message": exc.detail}]) from exc
    return Response(
        BookingRead.from_result(result, with_token=True).model_dump_json(),
        status_code=200 if result.replayed else 201,
        headers={"Location": f"/api/v1/bookings/{result.booking.ref}"},
        media_type="application/json",
    )


MAX_KEY = 200
M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], raw: bytes) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [error | {"loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from exc


# Staff: the centre's bookings. Operations act on them, coaches read them ----------------------


@router.get("", response_model=list[BookingRead])
def list_bookings(
    session: SessionDep,
    user: BookingsReader,
    site: str | None = None,
    day: Day | None = Query(default=None, description="A local day at the site (needs site)"),
    status: str | None = None,
    email: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    after_id: Id | None = None,
) -> list[BookingRead]:
    """Bookings, for centre staff (a dealer sees its own through /dealers/{code}/bookings)."""
    site_id = day_from = day_to = None
    if day and not site:
        raise Invalid("A day is a local day at a site: give `site` with `day`.")
    if site:
        site_row = catalog.get_site(session, code=site)
        site_id = site_row.id
        if day:
            day_from, day_to = service.local_day_bounds(day, site_row.time_zone)
    rows = service.list_bookings(
        session,
        site_id=site_id,
        day_from=day_from,
        day_to=day_to,
        status=status,
        email=email,
        limit=limit,
        after_id=after_id,
    )
    return [BookingRead.from_result(r) for r in rows]


@router.get("/{ref}", response_model=BookingRead)
def get_booking(ref: str, session: SessionDep, user: BookingsReader) -> BookingRead:
    return BookingRead.from_result(service.get_booking(session, ref=ref))


@router.get("/{ref}/history", response_model=list[AuditRead])
def booking_history(ref: str, session: SessionDep, user: BookingsReader) -> list[AuditRead]:
    return [
        AuditRead(at=e.at, actor=e.actor, action=e.action, data=e.data)
        for e in service.history(session, ref=ref)
    ]


@router.post("/{ref}/confirm", response_model=BookingRead)
def confirm(ref: str, session: SessionDep, user: BookingDesk) -> BookingRead:
    return BookingRead.from_result(service.confirm_booking(session, ref=ref, actor=user.actor))


@router.post("/{ref}/cancel", response_model=BookingRead)
def cancel(
    ref: str, session: SessionDep, user: BookingDesk, body: BookingCancel | None = None
) -> BookingRead:
    reason = body.reason if body else ""
    return BookingRead.from_result(
        service.cancel_booking(session, ref=ref, reason=reason, actor=user.actor)
    )


@router.post("/{ref}/move", response_model=BookingRead)
def move(ref: str, body: BookingMove, session: SessionDep, user: BookingDesk) -> BookingRead:
    return BookingRead.from_result(
        service.reschedule(session, ref=ref, starts_at=body.starts_at, actor=user.actor)
    )


@router.post("/{ref}/check-in", response_model=BookingRead)
def check_in(ref: str, session: SessionDep, user: BookingDesk) -> BookingRead:
    return BookingRead.from_result(service.check_in(session, ref=ref, actor=user.actor))


@router.post("/{ref}/complete", response_model=BookingRead)
def complete(ref: str, session: SessionDep, user: BookingDesk) -> BookingRead:
    return BookingRead.from_result(service.complete(session, ref=ref, actor=user.actor))


@router.post("/{ref}/no-show", response_model=BookingRead)
def no_show(ref: str, session: SessionDep, user: BookingDesk) -> BookingRead:
    return BookingRead.from_result(service.mark_no_show(session, ref=ref, actor=user.actor))


# The guest: their own booking through its private manage token (public) --------------------

manage_router = APIRouter(prefix="/api/v1/manage", tags=["guest's booking"])
NOT_CHANGEABLE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No booking has this token"},
    409: {"description": "No longer changeable online (started, cancelled...)"},
}


@manage_router.get("/{token}", response_model=BookingRead, responses=NOT_CHANGEABLE)
def guest_booking(token: str, session: SessionDep) -> BookingRead:
    """The booking whose manage token this is (the token came with the booking, and in the
    guest's confirmation link)."""
    return BookingRead.from_result(guest.booking(session, token=token))


@manage_router.post("/{token}/confirm", response_model=BookingRead, responses=NOT_CHANGEABLE)
def guest_confirm(token: str, session: SessionDep) -> BookingRead:
    """Confirm a held booking before its hold lapses (410 when it has)."""
    return BookingRead.from_result(guest.confirm(session, token=token))


@manage_router.post("/{token}/move", response_model=BookingRead, responses=NOT_CHANGEABLE)
def guest_move(token: str, body: BookingMove, session: SessionDep) -> BookingRead:
    """Move one's own upcoming booking to another free start."""
    return BookingRead.from_result(guest.move(session, token=token, starts_at=body.starts_at))


@manage_router.post("/{token}/cancel", response_model=BookingRead, responses=NOT_CHANGEABLE)
def guest_cancel(token: str, session: SessionDep, body: BookingCancel | None = None) -> BookingRead:
    """Cancel one's own upcoming booking."""
    return BookingRead.from_result(
        guest.cancel(session, token=token, reason=body.reason if body else "")
    )
