"""Fleet and site operations as JSON: pools with their units' state, units, blocks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from paddock.accounts.access import FleetReader, FleetWriter
from paddock.capacity import operations
from paddock.capacity.models import Block
from paddock.capacity.schemas import (
    BlockCreate,
    BlockRead,
    BlockUpdate,
    EngagementRead,
    PoolRead,
    PoolRef,
    PoolWording,
    PoolWordingRead,
    RetireBody,
    ShiftRead,
    UnitRead,
    UnitStateRead,
)
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.mapping import to_schema

router = APIRouter(prefix="/api/v1", tags=["capacity operations"])
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Live engagements hold that time: they are listed in `affected`"}
}


def block_reads(session: Session, blocks: list[Block]) -> list[BlockRead]:
    units = operations.labels(session, [b.unit_id for b in blocks if b.unit_id is not None])
    sites = operations.site_codes(session, [b.site_id for b in blocks])
    return [
        to_schema(
            BlockRead,
            b,
            site=sites[b.site_id],
            unit=units.get(b.unit_id) if b.unit_id is not None else None,
        )
        for b in blocks
    ]


def unit_state_read(session: Session, state: operations.UnitState) -> UnitStateRead:
    return to_schema(
        UnitStateRead,
        state.unit,
        state=state.state,
        pools=state.pool_codes,
        qualifications=state.qualifications,
        engagements_today=state.engagements_today,
        busy_minutes_today=state.busy_minutes_today,
        block=block_reads(session, [state.block])[0] if state.block else None,
    )


def unit_read(session: Session, detail: operations.UnitDetail) -> UnitRead:
    state = detail.state
    return UnitRead(
        **unit_state_read(session, state).model_dump(),
        site=state.site.code,
        pool_details=[
            to_schema(PoolRef, p) for p in sorted(state.unit.pools, key=lambda p: p.code)
        ],
        shifts=[
            to_schema(ShiftRead, s)
            for s in sorted(state.unit.shifts, key=lambda s: (s.weekday, s.starts_at))
        ],
        blocks=block_reads(session, detail.blocks),
        schedule_today=[to_schema(EngagementRead, e, unit=e.unit_label) for e in detail.schedule],
    )


ALL = Query(
    default=False, alias="all", description="Also quota pools (dealer places) and customers' cars"
)


@router.get("/sites/{code}/pools", response_model=list[PoolRead])
def list_pools(
    code: str, session: SessionDep, user: FleetReader, include_all: bool = ALL
) -> list[PoolRead]:
    """Every resource pool of the site with its units: the state of each now, and today's
    use."""
    return [
        to_schema(
            PoolRead,
            p.pool,
            public_name=operations.public_wording(p.pool),
            units_total=len(p.units),
            units_active=p.active,
            available_now=p.count("available"),
            in_use_now=p.count("in_use"),
            blocked_now=p.count("blocked") + p.count("closed"),
            units=[unit_state_read(session, u) for u in p.units],
        )
        for p in operations.pools_overview(session, site_code=code, include_all=include_all)
    ]


@router.patch("/sites/{code}/pools/{pool}", response_model=PoolWordingRead)
def set_pool_wording(
    code: str, pool: str, body: PoolWording, session: SessionDep, user: FleetWriter
) -> PoolWordingRead:
    """Change what guests read about a pool ("no <public_name> free" on the booking pages and
    in the public API's answers); staff keep its name. Empty: back to the default wording."""
    row = operations.set_public_name(
        session, site_code=code, pool_code=pool, wording=body.public_name, actor=user.actor
    )
    return PoolWordingRead(code=row.code, name=row.name, public_name=operations.public_wording(row))


@router.get("/sites/{code}/units", response_model=list[UnitStateRead])
def list_units(
    code: str,
    session: SessionDep,
    user: FleetReader,
    kind: str | None = Query(default=None, description="vehicle_model, coach, module..."),
    pool: str | None = Query(default=None, description="Only the units of this pool"),
    include_all: bool = ALL,
) -> list[UnitStateRead]:
    return [
        unit_state_read(session, s)
        for s in operations.list_units(
            session, site_code=code, kind=kind, pool_code=pool, include_all=include_all
        )
    ]


@router.get("/units/{unit_id}", response_model=UnitRead)
def get_unit(unit_id: Id, session: SessionDep, user: FleetReader) -> UnitRead:
    return unit_read(session, operations.unit_detail(session, unit_id=unit_id))


@router.post("/units/{unit_id}/retire", response_model=UnitRead, responses=CONFLICT)
def retire_unit(unit_id: Id, body: RetireBody, session: SessionDep, user: FleetWriter) -> UnitRead:
    """Take a unit out of the fleet for good; refused while bookings from now on hold it."""
    operations.retire_unit(session, unit_id=unit_id, reason=body.reason, actor=user.actor)
    return unit_read(session, operations.unit_detail(session, unit_id=unit_id))


@router.post("/units/{unit_id}/reactivate", response_model=UnitRead)
def reactivate_unit(unit_id: Id, session: SessionDep, user: FleetWriter) -> UnitRead:
    operations.reactivate_unit(session, unit_id=unit_id, actor=user.actor)
    return unit_read(session, operations.unit_detail(session, unit_id=unit_id))


@router.get("/blocks", response_model=list[BlockRead])
def list_blocks(
    session: SessionDep,
    user: FleetReader,
    site: str | None = None,
    unit_id: Id | None = None,
    include_past: bool = False,
) -> list[BlockRead]:
    """Blocks that have not ended yet (all with `include_past`); a unit's include its site's
    closures."""
    blocks = operations.list_blocks(
        session, site_code=site, unit_id=unit_id, include_past=include_past
    )
    return block_reads(session, list(blocks))


@router.post("/blocks", response_model=BlockRead, status_code=201, responses=CONFLICT)
def create_block(
    body: BlockCreate, response: Response, session: SessionDep, user: FleetWriter
) -> BlockRead:
    """Block a unit (maintenance...) or close a site. Refused, naming them, while live
    bookings hold that time: move or cancel them first."""
    if body.unit_id is not None:
        block = operations.block_unit(
            session,
            unit_id=body.unit_id,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            kind=body.kind or "maintenance",
            actor=user.actor,
        )
    else:
        block = operations.close_site(
            session,
            site_code=body.site or "",
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            kind=body.kind or "closure",
            actor=user.actor,
        )
    response.headers["Location"] = f"/api/v1/blocks/{block.id}"
    return block_reads(session, [block])[0]


@router.get("/blocks/{block_id}", response_model=BlockRead)
def get_block(block_id: Id, session: SessionDep, user: FleetReader) -> BlockRead:
    return block_reads(session, [operations.get_block(session, block_id=block_id)])[0]


@router.patch("/blocks/{block_id}", response_model=BlockRead, responses=CONFLICT)
def change_block(
    block_id: Id, body: BlockUpdate, session: SessionDep, user: FleetWriter
) -> BlockRead:
    """End a block early, extend or move it; newly covered time must be free."""
    block = operations.change_block(
        session,
        block_id=block_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        actor=user.actor,
    )
    return block_reads(session, [block])[0]


@router.delete("/blocks/{block_id}", status_code=204)
def remove_block(block_id: Id, session: SessionDep, user: FleetWriter) -> Response:
    operations.remove_block(session, block_id=block_id, actor=user.actor)
    return Response(status_code=204)
