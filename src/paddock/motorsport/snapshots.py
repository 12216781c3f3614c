"""The capacity a decision was taken on, frozen into the decision's record."""

from __future__ import annotations

from paddock.motorsport.engine.calendars import TeamEntry
from paddock.motorsport.engine.season import SeasonContext
from paddock.motorsport.load import weekly_load


def capacity_snapshot(context: SeasonContext) -> dict[str, object]:
    """The capacity a decision was taken on: pools with their days away, the commitments,
    and the committed load per pool and week."""
    return {
        "year": context.year,
        "taken_at_horizon": [
            context.grid.origin.isoformat(),
            context.grid.day(context.grid.days - 1).isoformat(),
        ],
        "pools": [
            {
                "code": p.code,
                "name": p.name,
                "kind": p.kind,
                "region": p.region,
                "units": p.units,
                "unavailability": [
                    {
                        "start_date": u.start_date.isoformat(),
                        "end_date": u.end_date.isoformat(),
                        "units": u.units,
                        "reason": u.reason,
                    }
                    for u in p.unavailability
                ],
            }
            for p in context.pools
        ],
        "commitments": [_fact(e) for e in context.commitments],
        "weekly_load": [
            {
                "pool": r.code,
                "weeks": [
                    [w.week_start.isoformat(), w.capacity, w.committed]
                    for w in r.weeks
                    if w.committed
                ],
            }
            for r in weekly_load(context)
        ],
    }


def _fact(entry: TeamEntry) -> dict[str, object]:
    return {
        "team": entry.team_code,
        "championship": entry.championship,
        "season": entry.season,
        "base_region": entry.base_region,
        "car_number": entry.car_number,
        "spare": entry.spare,
    }
