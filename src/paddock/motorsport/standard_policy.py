"""The rules decisions are taken under: the support standard, in versions (editing it makes a
new version; the old ones stay and decisions keep theirs), and the grid policy (the cap on
customer cars, default and per series, and the value weights)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paddock.db import utcnow
from paddock.errors import Invalid, NotFound
from paddock.motorsport import models as orm
from paddock.motorsport.context import grid_policy_row, standard_row_for
from paddock.motorsport.engine.standard import DemandLine, PoolBasis, Scope
from paddock.motorsport.lookups import audit, find_championship
from paddock.motorsport.schemas import FreightIO, PolicyRead, StandardLineIO, StandardRead
from paddock.unit_of_work import run_write


def list_standards(session: Session) -> list[StandardRead]:
    rows = session.scalars(
        select(orm.SupportStandard)
        .options(selectinload(orm.SupportStandard.lines))
        .order_by(orm.SupportStandard.version)
    ).all()
    years = sorted(set(session.scalars(select(orm.Season.year).distinct()).all()))
    in_force: dict[int, list[int]] = {}
    for year in years:
        try:
            in_force.setdefault(standard_row_for(session, year).version, []).append(year)
        except Invalid:
            continue
    return [_standard_read(r, in_force.get(r.version, [])) for r in rows]


def get_standard(session: Session, *, version: int | None = None) -> StandardRead:
    """A version, or the newest one."""
    versions = list_standards(session)
    if not versions:
        raise NotFound("No support standard yet.")
    if version is None:
        return versions[-1]
    for read in versions:
        if read.version == version:
            return read
    raise NotFound(f"No support standard version {version}.")


def new_standard_version(
    session: Session,
    *,
    lines: Sequence[StandardLineIO],
    effective_from: date | None = None,
    freight: FreightIO | None = None,
    support_tests: bool | None = None,
    name: str | None = None,
    note: str = "",
    actor: str,
    now: datetime | None = None,
) -> StandardRead:
    """Edit the standard: a new version (the old ones stay, and decisions keep theirs).
    Without a date the new version applies from the same date as the newest one."""
    now = now or utcnow()
    if not lines:
        raise Invalid("A support standard needs at least one line.")
    for line in lines:
        try:
            DemandLine(
                line.kind,
                line.first_car,
                line.per_additional_car,
                line.per_spare_car,
                Scope(line.scope),
                pool_basis=PoolBasis(line.pool_basis),
            )
        except ValueError as error:
            raise Invalid(f"Standard line {line.kind}: {error}.") from None
    kinds = [(line.kind, line.scope) for line in lines]
    if len(set(kinds)) != len(kinds):
        raise Invalid("Each resource kind may appear once per scope in the standard.")

    def write() -> StandardRead:
        latest = session.scalar(
            select(orm.SupportStandard).order_by(orm.SupportStandard.version.desc()).limit(1)
        )
        if latest is None and effective_from is None:
            raise Invalid("The first version of the standard needs an effective_from date.")
        rules = freight or (FreightIO.of(latest.freight) if latest else FreightIO())
        row = orm.SupportStandard(
            version=(latest.version + 1) if latest else 1,
            effective_from=effective_from or (latest.effective_from if latest else date.min),
            name=name if name is not None else (latest.name if latest else ""),
            note=note,
            freight_lead_days=rules.lead_days,
            freight_return_days=rules.return_days,
            freight_transit_days=rules.transit_days,
            freight_chaining=rules.chaining,
            support_tests=support_tests
            if support_tests is not None
            else (latest.support_tests if latest else True),
            created_at=now,
            created_by=actor,
        )
        row.lines = [
            orm.SupportStandardLine(position=i, **line.model_dump())
            for i, line in enumerate(lines, start=1)
        ]
        session.add(row)
        session.flush()
        audit(
            session,
            actor,
            "support_standard",
            row.id,
            "version_created",
            now,
            version=row.version,
            effective_from=row.effective_from.isoformat(),
        )
        return _standard_read(row, [])

    read = run_write(session, write)
    return get_standard(session, version=read.version)


def _standard_read(row: orm.SupportStandard, years: list[int]) -> StandardRead:
    return StandardRead.of(row, in_force_for=years)


def get_policy(session: Session) -> PolicyRead:
    row = grid_policy_row(session)
    championships = session.scalars(select(orm.Championship).order_by(orm.Championship.id)).all()
    teams = session.scalars(select(orm.CustomerTeam).order_by(orm.CustomerTeam.id)).all()
    return PolicyRead(
        default_max_cars=row.default_max_cars,
        max_cars_by_series={
            c.code: c.max_customer_cars for c in championships if c.max_customer_cars is not None
        },
        strategic_weight={c.code: c.strategic_weight for c in championships},
        team_priority={t.code: t.priority for t in teams},
        win_bonus=row.win_bonus,
        podium_bonus=row.podium_bonus,
        updated_at=row.updated_at if row.id else None,
        updated_by=row.updated_by or "",  # the defaults, never stored yet: nobody
    )


def update_policy(
    session: Session,
    *,
    default_max_cars: int | None = None,
    max_cars_by_series: dict[str, int | None] | None = None,
    strategic_weight: dict[str, int] | None = None,
    win_bonus: int | None = None,
    podium_bonus: int | None = None,
    actor: str,
    now: datetime | None = None,
) -> PolicyRead:
    """Change the grid cap (default and per series) and the value weights."""
    now = now or utcnow()
    for label, value in (
        ("default_max_cars", default_max_cars),
        ("win_bonus", win_bonus),
        ("podium_bonus", podium_bonus),
        *((f"max cars in {k}", v) for k, v in (max_cars_by_series or {}).items()),
        *((f"strategic weight of {k}", v) for k, v in (strategic_weight or {}).items()),
    ):
        if value is not None and value < 0:
            raise Invalid(f"{label} must be 0 or more.")

    def write() -> PolicyRead:
        row = session.scalar(select(orm.GridPolicy).order_by(orm.GridPolicy.id).limit(1))
        if row is None:
            row = orm.GridPolicy(default_max_cars=2, win_bonus=3, podium_bonus=1)
            session.add(row)
        for key, value in (
            ("default_max_cars", default_max_cars),
            ("win_bonus", win_bonus),
            ("podium_bonus", podium_bonus),
        ):
            if value is not None:
                setattr(row, key, value)
        for code, cap in (max_cars_by_series or {}).items():
            find_championship(session, code).max_customer_cars = cap
        for code, weight in (strategic_weight or {}).items():
            find_championship(session, code).strategic_weight = weight
        row.updated_at, row.updated_by = now, actor
        session.flush()
        audit(
            session,
            actor,
            "grid_policy",
            row.id,
            "updated",
            now,
            default_max_cars=default_max_cars,
            max_cars_by_series=max_cars_by_series,
            strategic_weight=strategic_weight,
            win_bonus=win_bonus,
            podium_bonus=podium_bonus,
        )
        return get_policy(session)

    return run_write(session, write)
