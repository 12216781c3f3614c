"""Fleet status, maintenance windows and site closures (capacity.operations): what each car,
rig and coach is doing now, what is blocked when, and forms to block or close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.accounts.models import Role
from paddock.bookings import desk
from paddock.capacity import operations
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.errors import DomainError, Invalid, NotFound
from paddock.http import SessionDep
from paddock.web.deps import OpsPage, OpsWriter, can, page_router
from paddock.web.flash import flash
from paddock.web.rendering import render, see_other

router = page_router(prefix="/ops/fleet")
# Pools shown as the fleet, in this order; modules and seats are positions, not machines.
FLEET_KINDS = ("vehicle_model", "simulator", "coach")


def parse_local(text: str, time_zone: str, field: str) -> datetime:
    """A `datetime-local` input (site time) as an aware instant."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"{field}: '{text}' is not a date and time.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return moment


@router.get("")
def fleet(
    request: Request, session: SessionDep, user: OpsPage, site: str | None = None
) -> HTMLResponse:
    all_sites = list(catalog.list_sites(session))
    if not all_sites:
        raise NotFound("No site is set up yet.")
    chosen = operations.get_site(session, code=site or all_sites[0].code)
    now = utcnow()
    groups = fleet_groups(session, chosen.code, now)
    blocks = operations.list_blocks(session, site_code=chosen.code, now=now)
    labels = operations.labels(session, [b.unit_id for b in blocks if b.unit_id is not None])
    unit_blocks = [b for b in blocks if b.unit_id is not None and b.kind != "retired"]
    closures = [b for b in blocks if b.unit_id is None]
    # The units to block, grouped by pool as on the page (cars by model).
    unit_groups = [(g.name, [u.unit for u in g.units if u.unit.active]) for g in groups]
    return render(
        request,
        "ops/fleet.html",
        {
            "site": chosen,
            "sites": all_sites,
            "groups": groups,
            "unit_blocks": unit_blocks,
            "closures": closures,
            "labels": labels,
            "unit_groups": [(name, units) for name, units in unit_groups if units],
            "writer": can(user, Role.ADMIN, Role.OPERATIONS),
            "unit_kinds": operations.UNIT_BLOCK_KINDS,
            "site_kinds": operations.SITE_BLOCK_KINDS,
            "ops_site": chosen.code,
        },
    )


@dataclass
class FleetGroup:
    key: str
    name: str
    kind: str
    units: list[operations.UnitState] = field(default_factory=list)

    @property
    def available(self) -> int:
        return sum(1 for u in self.units if u.state == "available")


def fleet_groups(session: SessionDep, site_code: str, now: datetime) -> list[FleetGroup]:
    """Cars by model, then simulators, then coaches (one group: a coach is in several
    qualification pools)."""
    groups: dict[str, FleetGroup] = {}
    for kind in FLEET_KINDS:
        for state in operations.list_units(session, site_code=site_code, kind=kind, now=now):
            pool = next((p for p in state.unit.pools if p.kind == kind), None)
            if kind == "coach" or pool is None:
                key, name = kind, "Coaches" if kind == "coach" else kind
            else:
                key, name = f"pool-{pool.id}", pool.name
            groups.setdefault(key, FleetGroup(key, name, kind)).units.append(state)
    ordered = sorted(groups.values(), key=lambda g: (FLEET_KINDS.index(g.kind), g.name))
    for group in ordered:
        group.units.sort(key=lambda u: u.unit.label)
    return ordered


def _back(site_code: str) -> str:
    return f"/ops/fleet?site={site_code}"


@dataclass(frozen=True)
class UnitBlockForm:
    """The "block a unit" form, read once for both of its buttons."""

    site: str
    unit_id: int
    starts_at: str
    ends_at: str
    reason: str
    kind: str

    def arguments(self, session: SessionDep, actor: str) -> dict[str, Any]:
        """The block's arguments, its times read in the site's time zone."""
        zone = operations.get_site(session, code=self.site).time_zone
        return {
            "unit_id": self.unit_id,
            "starts_at": parse_local(self.starts_at, zone, "Start"),
            "ends_at": parse_local(self.ends_at, zone, "End"),
            "reason": self.reason,
            "kind": self.kind,
            "actor": actor,
        }


def unit_block_form(
    site: Annotated[str, Form()],
    unit_id: Annotated[int, Form()],
    starts_at: Annotated[str, Form()],
    ends_at: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
    kind: Annotated[str, Form()] = "maintenance",
) -> UnitBlockForm:
    return UnitBlockForm(site, unit_id, starts_at, ends_at, reason, kind)


BlockForm = Annotated[UnitBlockForm, Depends(unit_block_form)]


@router.post("/blocks")
def block(request: Request, session: SessionDep, user: OpsWriter, form: BlockForm) -> Response:
    """Block a unit, refused while bookings hold it then."""
    try:
        made = operations.block_unit(session, **form.arguments(session, user.actor))
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, f"Blocked ({made.kind}) as asked.", "success")
    return see_other(request, _back(form.site))


@router.post("/block-and-move")
def block_and_move(
    request: Request, session: SessionDep, user: OpsWriter, form: BlockForm
) -> Response:
    """Block a unit and move its bookings to free units of the same model; the page lists
    those that could not be moved, with the guests to call."""
    try:
        report = desk.block_and_move(session, **form.arguments(session, user.actor))
    except DomainError as exc:
        flash(request, exc.detail, "error")
        return see_other(request, _back(form.site))
    site = operations.get_site(session, code=form.site)
    label = operations.labels(session, [form.unit_id]).get(form.unit_id, str(form.unit_id))
    return render(
        request,
        "ops/block_report.html",
        {"r": report, "site": site, "unit_label": label, "ops_site": site.code},
    )


@router.post("/closures")
def close(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    site: Annotated[str, Form()],
    starts_at: Annotated[str, Form()],
    ends_at: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
    kind: Annotated[str, Form()] = "closure",
) -> Response:
    try:
        chosen = operations.get_site(session, code=site)
        operations.close_site(
            session,
            site_code=chosen.code,
            starts_at=parse_local(starts_at, chosen.time_zone, "Start"),
            ends_at=parse_local(ends_at, chosen.time_zone, "End"),
            reason=reason,
            kind=kind,
            actor=user.actor,
        )
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, f"{chosen.name} is closed for that time.", "success")
    return see_other(request, _back(site))


@router.post("/blocks/{block_id}/remove")
def remove(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    block_id: int,
    site: Annotated[str, Form()],
) -> Response:
    try:
        operations.remove_block(session, block_id=block_id, actor=user.actor)
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, "Removed: that time can be booked again.", "success")
    return see_other(request, _back(site))
