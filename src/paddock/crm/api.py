"""People, sales and deliveries as JSON. Dealer staff (and dealers' API tokens) see and change
only their own dealer's contacts and sales; centre staff see all; export is for centre staff
and erasure for a centre admin."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from paddock.accounts.deps import AdminUser, CurrentUser, DealerScope, StaffUser
from paddock.accounts.models import Role
from paddock.accounts.service import Scope
from paddock.crm import service
from paddock.crm.models import Conversion, Person, Sale, Vehicle
from paddock.crm.schemas import (
    ConsentRead,
    ConsentUpdate,
    DeliveryCreate,
    DeliveryRead,
    EraseRequest,
    MergeRead,
    MergeRequest,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    SaleCreate,
    SaleImportRead,
    SaleRead,
    VehicleRead,
    VisitRead,
)
from paddock.dealers import imports
from paddock.dealers import service as dealers
from paddock.errors import Invalid
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.mapping import to_schema

router = APIRouter(prefix="/api/v1", tags=["crm"])


def person_read(
    session: Session, person: Person, codes: dict[int, str] | None = None
) -> PersonRead:
    if codes is None:
        codes = service.dealer_codes(session, [person.dealer_id])
    return to_schema(
        PersonRead,
        person,
        dealer=codes.get(person.dealer_id) if person.dealer_id else None,
        consents={
            purpose: ConsentRead(
                granted=getattr(person, f"consent_{purpose}"),
                at=getattr(person, f"consent_{purpose}_at"),
            )
            for purpose in ("marketing_email", "phone", "dealer_sharing")
        },
        erased=person.erased_at is not None,
    )


def vehicle_read(vehicle: Vehicle, dealer: str | None, ref: str | None) -> VehicleRead:
    return to_schema(VehicleRead, vehicle, dealer=dealer, delivery_ref=ref)


def _dealer_id(session: Session, scope: Scope, code: str | None) -> int | None:
    """Dealer staff act for their own dealer; centre staff name one (or none)."""
    if scope.dealer_id is not None:
        if code is not None:
            dealers.get_dealer(session, code=code, scope=scope)
        return scope.dealer_id
    if code is None:
        return None
    return dealers.get_dealer(session, code=code, scope=scope).id


@router.get("/people", response_model=list[PersonRead])
def list_people(
    session: SessionDep,
    scope: DealerScope,
    kind: str | None = Query(default=None, pattern="^(prospect|client)$"),
    q: str | None = Query(default=None, max_length=100, description="E-mail prefix or name"),
    dealer: str | None = Query(default=None, description="Centre staff: one dealer's contacts"),
    after_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[PersonRead]:
    """People by id, a page at a time: pass the last id as `after_id` for the next page."""
    rows = service.list_people(
        session,
        dealer_id=_dealer_id(session, scope, dealer),
        kind=kind,
        search=q,
        after_id=after_id,
        limit=limit,
    )
    codes = service.dealer_codes(session, [p.dealer_id for p in rows])
    return [person_read(session, person, codes) for person in rows]


@router.post("/people", response_model=PersonRead, status_code=201)
def create_person(body: PersonCreate, session: SessionDep, scope: DealerScope) -> PersonRead:
    person = service.create_person(
        session,
        name=body.name,
        email=str(body.email),
        phone=body.phone,
        kind=body.kind,
        dealer_id=_dealer_id(session, scope, body.dealer),
        consents=body.consents.changes(),
        source=body.consent_source,
        actor=scope.actor,
    )
    return person_read(session, person)


@router.get("/people/{person_id}", response_model=PersonRead)
def get_person(person_id: Id, session: SessionDep, scope: DealerScope) -> PersonRead:
    return person_read(
        session, service.get_person(session, person_id=person_id, dealer_id=scope.dealer_id)
    )


@router.patch("/people/{person_id}", response_model=PersonRead)
def update_person(
    person_id: Id, body: PersonUpdate, session: SessionDep, scope: DealerScope
) -> PersonRead:
    dealer_id = None
    if body.dealer is not None:
        if scope.dealer_id is not None:
            raise Invalid("Only centre staff can change which dealer a person belongs to.")
        dealer_id = _dealer_id(session, scope, body.dealer)
    person = service.update_person(
        session,
        person_id=person_id,
        scope_dealer_id=scope.dealer_id,
        name=body.name,
        phone=body.phone,
        kind=body.kind,
        notes=body.notes,
        dealer_id=dealer_id,
        actor=scope.actor,
    )
    return person_read(session, person)


@router.put("/people/{person_id}/consents", response_model=PersonRead)
def set_consents(
    person_id: Id, body: ConsentUpdate, session: SessionDep, scope: DealerScope
) -> PersonRead:
    """Record consent decisions (each kept in the person's consent history)."""
    person = service.set_consents(
        session,
        person_id=person_id,
        changes=body.changes(),
        source=body.source,
        scope_dealer_id=scope.dealer_id,
        actor=scope.actor,
    )
    return person_read(session, person)


@router.get("/people/{person_id}/visits", response_model=list[VisitRead])
def person_visits(person_id: Id, session: SessionDep, scope: DealerScope) -> list[VisitRead]:
    """Visit history: the person's bookings, newest first."""
    service.get_person(session, person_id=person_id, dealer_id=scope.dealer_id)
    return [
        to_schema(VisitRead, v, product=v.product_code, site=v.site_code, dealer=v.dealer_code)
        for v in service.visits(session, person_id=person_id)
    ]


@router.get("/people/{person_id}/vehicles", response_model=list[VehicleRead])
def person_vehicles(person_id: Id, session: SessionDep, scope: DealerScope) -> list[VehicleRead]:
    service.get_person(session, person_id=person_id, dealer_id=scope.dealer_id)
    return [vehicle_read(*row) for row in service.vehicles_of(session, person_id=person_id)]


@router.post("/people/{person_id}/merge", response_model=MergeRead)
def merge_people(
    person_id: Id,
    body: MergeRequest,
    session: SessionDep,
    scope: DealerScope,
    user: CurrentUser,
) -> MergeRead:
    """Merge `duplicate_id` into this person: visits, vehicles, sales, conversions and consents
    move here in one transaction. People of two different dealers: centre admins only."""
    result = service.merge_people(
        session,
        survivor_id=person_id,
        duplicate_id=body.duplicate_id,
        actor=scope.actor,
        scope_dealer_id=scope.dealer_id,
        is_admin=user.role == Role.ADMIN,
    )
    return MergeRead(survivor=person_read(session, result.survivor), moved=result.moved)


@router.get("/people/{person_id}/export")
def export_person(person_id: Id, session: SessionDep, staff: StaffUser) -> Response:
    """Everything held about the person, as a JSON download (the export is audited)."""
    document = service.export_person(session, person_id=person_id, actor=staff.actor)
    return Response(
        content=_json(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="person-{person_id}.json"'},
    )


@router.post("/people/{person_id}/erase", response_model=dict[str, int])
def erase_person(
    person_id: Id, body: EraseRequest, session: SessionDep, admin: AdminUser
) -> dict[str, int]:
    """Erase the person's data on request: anonymised everywhere, irreversibly; the facts
    the KPIs count are kept. Send `{"confirm": true}`."""
    if not body.confirm:
        raise Invalid("Erasure cannot be undone: send confirm=true to go ahead.")
    return service.erase_person(session, person_id=person_id, actor=admin.actor, reason=body.reason)


def sale_read(
    sale: Sale,
    conversion: Conversion | None,
    person_visible: bool,
    codes: dict[int, str],
    visit_ref: str | None = None,
) -> SaleRead:
    return to_schema(
        SaleRead,
        sale,
        dealer=codes.get(sale.dealer_id, "?"),
        person_id=sale.person_id if person_visible else None,
        deal_ref=sale.external_ref,
        converted=conversion is not None,
        visit_ref=visit_ref,
        days_after_visit=conversion.days_after_visit if conversion else None,
    )


@router.post("/sales", response_model=SaleRead, status_code=201)
def report_sale(
    body: SaleCreate, request: Request, session: SessionDep, scope: DealerScope
) -> SaleRead:
    """A dealer reports a sale. If the buyer drove at the centre as a prospect within the
    conversion window, the sale converts that visit."""
    result = service.record_sale(
        session,
        sale=service.SaleInput(
            email=str(body.email),
            name=body.name,
            model=body.model,
            sold_on=body.sold_on,
            deal_ref=body.deal_ref,
            vin=body.vin,
            year=body.year,
            phone=body.phone,
            dealer_code=body.dealer,
        ),
        dealer_id=scope.dealer_id,
        source="api",
        actor=scope.actor,
        window_days=request.app.state.settings.conversion_window_days,
    )
    codes = service.dealer_codes(session, [result.sale.dealer_id])
    return sale_read(result.sale, result.conversion, result.person_visible, codes, result.visit_ref)


@router.post(
    "/sales/import",
    response_model=SaleImportRead,
    responses={422: {"description": "Rejected rows, each with its reason; nothing written"}},
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_sales(
    request: Request,
    response: Response,
    session: SessionDep,
    scope: DealerScope,
    dry_run: bool = Query(default=False, description="Only check the file"),
) -> SaleImportRead:
    """Import sales from a CSV body: columns email, name, model, sold_on, deal_ref (optional
    phone, vin, year, dealer). All rows or none. Centre staff import for any dealer (the
    `dealer` column names it); dealer staff for their own."""
    text = imports.decode(await request.body())
    report = service.import_sales_csv(
        session,
        text=text,
        dealer_id=scope.dealer_id,
        source="csv" if scope.dealer_id is not None else "system",
        actor=scope.actor,
        window_days=request.app.state.settings.conversion_window_days,
        dry_run=dry_run,
    )
    if not dry_run:
        response.status_code = 201
    return SaleImportRead(
        dry_run=dry_run, rows=report.rows, imported=report.imported, conversions=report.conversions
    )


@router.get("/sales", response_model=list[SaleRead])
def list_sales(
    session: SessionDep,
    scope: DealerScope,
    person_id: Id | None = None,
    after_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[SaleRead]:
    rows = service.list_sales(
        session, dealer_id=scope.dealer_id, person_id=person_id, after_id=after_id, limit=limit
    )
    codes = service.dealer_codes(session, [s.dealer_id for s, _, _ in rows])
    return [sale_read(sale, conversion, visible, codes) for sale, conversion, visible in rows]


@router.post("/deliveries", response_model=DeliveryRead, status_code=201)
def schedule_delivery(
    body: DeliveryCreate, session: SessionDep, scope: DealerScope
) -> DeliveryRead:
    """Book a customer's delivery at the headquarters: their own car (a unit made for it), a
    handover bay, a delivery specialist and circuit time for the first miles."""
    result = service.schedule_delivery(
        session,
        vin=body.vin,
        model=body.model,
        year=body.year,
        person_id=body.person_id,
        starts_at=body.starts_at,
        dealer_id=_dealer_id(session, scope, body.dealer),
        product_code=body.product,
        scope_dealer_id=scope.dealer_id,
        actor=scope.actor,
    )
    booking = result.booking.booking
    codes = service.dealer_codes(session, [result.vehicle.dealer_id])
    return DeliveryRead(
        booking_ref=booking.ref,
        status=result.booking.status,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        vehicle=vehicle_read(
            result.vehicle,
            codes.get(result.vehicle.dealer_id) if result.vehicle.dealer_id else None,
            booking.ref,
        ),
        resources=[r.unit_label for r in result.booking.resources],
    )


def _json(document: object) -> str:
    return json.dumps(document, indent=2, default=str)
