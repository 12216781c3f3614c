"""Customer racing use cases, gathered so that callers need only this module: teams,
the support standard (versioned) and the grid policy, season calendars, requests and their
evaluation, the season's set decision, recorded decisions that hold capacity like bookings,
results and the service level, and the planner's load per resource and week.

Each use case lives in the module of its aggregate (teams, standard_policy, seasons,
support_requests, set_decision, decisions, allocations, load, snapshots, results); add a new
one there and re-export it here. Public functions that write own their transaction
(`run_write`); reads never write.
"""

from __future__ import annotations

from paddock.motorsport.allocations import allocate_entries, entry_allocations
from paddock.motorsport.capacity_view import ENGAGEMENT
from paddock.motorsport.decisions import get_decision, list_decisions, record_decision
from paddock.motorsport.load import list_resources, resource_load, weekly_load
from paddock.motorsport.results import (
    Delivered,
    list_results,
    record_delivery,
    record_result,
    service_level,
)
from paddock.motorsport.schemas import ResultRead
from paddock.motorsport.seasons import import_season, list_championships, season_calendar
from paddock.motorsport.set_decision import SOLVING, Decided, decide_season
from paddock.motorsport.snapshots import capacity_snapshot
from paddock.motorsport.standard_policy import (
    get_policy,
    get_standard,
    list_standards,
    new_standard_version,
    update_policy,
)
from paddock.motorsport.support_requests import (
    Evaluated,
    create_request,
    evaluate_request,
    evaluate_what_if,
    get_request,
    list_requests,
    withdraw_request,
)
from paddock.motorsport.teams import (
    TEAM_CODE,
    create_team,
    get_team,
    list_chassis,
    list_entries,
    list_teams,
    update_team,
)

__all__ = [
    "Decided",
    "Delivered",
    "ENGAGEMENT",
    "Evaluated",
    "ResultRead",
    "SOLVING",
    "TEAM_CODE",
    "allocate_entries",
    "capacity_snapshot",
    "create_request",
    "create_team",
    "decide_season",
    "entry_allocations",
    "evaluate_request",
    "evaluate_what_if",
    "get_decision",
    "get_policy",
    "get_request",
    "get_standard",
    "get_team",
    "import_season",
    "list_championships",
    "list_chassis",
    "list_decisions",
    "list_entries",
    "list_requests",
    "list_resources",
    "list_results",
    "list_standards",
    "list_teams",
    "new_standard_version",
    "record_decision",
    "record_delivery",
    "record_result",
    "resource_load",
    "season_calendar",
    "service_level",
    "update_policy",
    "update_team",
    "weekly_load",
    "withdraw_request",
]
