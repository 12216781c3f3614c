"""The motorsport decision engine, pure: dataclasses in, dataclasses out.

- `evaluate`: one request, accepted or declined, with rows per event and resource, the first
  binding constraint and the least added capacity that would accept it.
- `decide`: a set of requests, the most value under capacity and the grid cap (CP-SAT),
  compared with `greedy` acceptance in order of arrival.
"""

from paddock.motorsport.engine.calendars import CalendarEvent, TeamEntry
from paddock.motorsport.engine.evaluation import evaluate, evaluate_with, is_feasible
from paddock.motorsport.engine.explain import (
    BindingConstraint,
    CapacityAddition,
    Evaluation,
    GridCheck,
    LoadRow,
)
from paddock.motorsport.engine.selection import Comparison, Decision, GreedyResult, decide, greedy
from paddock.motorsport.engine.standard import (
    DEFAULT_STANDARD,
    AppliesAt,
    DemandLine,
    FreightRules,
    GridPolicy,
    PoolBasis,
    RequestKind,
    ResourceKind,
    ResourcePool,
    ResultsRecord,
    Scope,
    SupportRequest,
    SupportStandard,
    Unavailability,
    ValueWeights,
)

__all__ = [
    "DEFAULT_STANDARD",
    "AppliesAt",
    "BindingConstraint",
    "CalendarEvent",
    "CapacityAddition",
    "Comparison",
    "Decision",
    "DemandLine",
    "Evaluation",
    "FreightRules",
    "GreedyResult",
    "GridCheck",
    "GridPolicy",
    "LoadRow",
    "PoolBasis",
    "RequestKind",
    "ResourceKind",
    "ResourcePool",
    "ResultsRecord",
    "Scope",
    "SupportRequest",
    "SupportStandard",
    "TeamEntry",
    "Unavailability",
    "ValueWeights",
    "decide",
    "evaluate",
    "evaluate_with",
    "greedy",
    "is_feasible",
]
