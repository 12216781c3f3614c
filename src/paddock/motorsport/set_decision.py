"""The season's set decision: which open requests to accept together for the most value,
exactly (CP-SAT), compared with accepting in order of arrival. Nothing is recorded here
(`decisions` records)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from paddock.db import utcnow
from paddock.errors import Busy, Conflict, Invalid
from paddock.motorsport.context import load_context
from paddock.motorsport.engine.demand import MissingCalendar
from paddock.motorsport.engine.season import SeasonContext
from paddock.motorsport.engine.selection import Decision, decide
from paddock.motorsport.engine.standard import SupportRequest
from paddock.motorsport.lookups import find_request
from paddock.motorsport.reads import decision_read
from paddock.motorsport.schemas import DecisionRead
from paddock.motorsport.support_requests import open_requests_of

# One set decision at a time per process: CP-SAT's search takes the cores while it runs. Another
# waits for it (at most its own time limit), then is answered "busy, retry".
SOLVING = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class Decided:
    decision: Decision
    read: DecisionRead
    requests: list[SupportRequest]


def decide_season(
    session: Session,
    *,
    year: int,
    request_codes: Sequence[str] | None = None,
    time_limit_s: float = 10.0,
    num_workers: int = 2,
    random_seed: int = 0,
    now: datetime | None = None,
) -> Decided:
    """Choose which of the season's open requests to accept together for the most value
    (team priority × series weight + results before the season), exactly with CP-SAT, and
    compare with accepting in order of arrival. Nothing is recorded."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now, with_weights=True)
    requests = season_requests(session, context, request_codes)
    return decide_requests(context, requests, time_limit_s, num_workers, random_seed)


def season_requests(
    session: Session, context: SeasonContext, codes: Sequence[str] | None
) -> list[SupportRequest]:
    open_requests = open_requests_of(session, context)
    if codes is None:
        if not open_requests:
            raise Invalid(f"No open requests for {context.year}.")
        return open_requests
    by_code = {r.code: r for r in open_requests}
    chosen = []
    for code in dict.fromkeys(codes):
        if code not in by_code:
            row = find_request(session, code)
            if row.season.year != context.year:
                raise Invalid(f"Request {code} is for {row.season.year}, not {context.year}.")
            raise Conflict(f"Request {code} is {row.status}; only open requests are decided.")
        chosen.append(by_code[code])
    if not chosen:
        raise Invalid("Name at least one request.")
    return chosen


def decide_requests(
    context: SeasonContext,
    requests: list[SupportRequest],
    time_limit_s: float,
    num_workers: int,
    random_seed: int,
) -> Decided:
    if not SOLVING.acquire(timeout=time_limit_s if time_limit_s > 0 else 0):
        raise Busy("Another set decision is being worked out; please retry in a few seconds.")
    try:
        decision = decide(
            requests,
            context.commitments,
            context.pools,
            context.standard,
            context.policy,
            context.value_weights(),
            calendar=context.events,
            time_limit_s=time_limit_s,
            num_workers=num_workers,
            random_seed=random_seed,
        )
    except MissingCalendar as error:
        raise Invalid(f"Cannot decide {context.year}: {error}.") from None
    finally:
        SOLVING.release()
    read = decision_read(
        decision,
        year=context.year,
        requests=requests,
        team_name=context.team_name,
        standard_version=context.standard.version,
    )
    return Decided(decision, read, requests)
