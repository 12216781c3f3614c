"""The motorsport planner: can we support another customer car?

- `/motorsport`: a season of both series (race weeks, same-weekend clashes) with the support
  load against capacity per resource and week as a heat map, committed or with the open
  requests;
- `/motorsport/requests/<code>` and `/motorsport/what-if`: one request evaluated, with its
  reasons event by event and resource by resource, the first binding constraint and what it
  would take;
- `/motorsport/decision`: the season's open requests decided together (CP-SAT: accepted,
  declined, objective, bound, gap, against accepting in order of arrival) and recorded by the
  signed-in manager with a rationale (a CSRF-protected form, confirmed).
For the motorsport programme manager and centre admins (the API's rule, MOTORSPORT_PROGRAMME).
The set decision runs in a worker thread within the server's time limit."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from paddock.accounts.access import MOTORSPORT_PROGRAMME
from paddock.accounts.service import Principal
from paddock.db import utcnow
from paddock.errors import Conflict, DomainError, Invalid
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.motorsport import service as motorsport
from paddock.motorsport.schemas import (
    ACTOR_MAX,
    FIRST_SEASON,
    LAST_SEASON,
    EvaluationRead,
    RequestRead,
)
from paddock.web.deps import page_router, page_rule
from paddock.web.flash import flash
from paddock.web.motorsport import figures
from paddock.web.rendering import render, see_other

router = page_router(prefix="/motorsport")
MotorsportPage = Annotated[Principal, page_rule(MOTORSPORT_PROGRAMME)]
SomeYear = Annotated[int | None, Query(ge=FIRST_SEASON, le=LAST_SEASON)]
RequestCode = Annotated[str, Path(min_length=1, max_length=64)]
DecisionId = Annotated[Id, Path()]
KINDS = (
    ("additional_car", "An additional car"),
    ("spare_car", "A spare car"),
    ("new_team", "A new team's first car"),
)
KIND_NAMES = dict(KINDS)
CHOICES = ("accept", "decline", "open")
RATIONALE_MAX = 4000


def _years(session: Session) -> list[int]:
    return sorted({y for c in motorsport.list_championships(session) for y in c.seasons})


def _year(session: Session, year: int | None) -> tuple[int, list[int]]:
    """The chosen season year, or the first one with open requests (else the latest)."""
    years = _years(session)
    if not years:
        raise Invalid("No season is loaded yet; import a calendar first.")
    if year is not None:
        if year not in years:
            raise Invalid(f"No season in {year}; seasons: {', '.join(map(str, years))}.")
        return year, years
    waiting = sorted({r.season for r in motorsport.list_requests(session, status="open")})
    if waiting:
        return waiting[0], years
    today = utcnow().year
    return (today if today in years else years[-1]), years


# --- Season ------------------------------------------------------------------------------------


@router.get("")
def season(
    request: Request,
    session: SessionDep,
    user: MotorsportPage,
    year: SomeYear = None,
    view: str = "requested",
) -> HTMLResponse:
    chosen, years = _year(session, year)
    if view not in ("requested", "committed"):
        raise Invalid("The load view is 'requested' (with the open requests) or 'committed'.")
    with_requests = view == "requested"
    load = motorsport.resource_load(session, year=chosen)
    calendar = motorsport.season_calendar(session, year=chosen)
    requests = motorsport.list_requests(session, year=chosen)
    entries = motorsport.list_entries(session, year=chosen)
    policy = motorsport.get_policy(session)
    clashes = [e for e in calendar if e.clashes_with]
    busy = figures.busy_resources(load, with_requests)
    return render(
        request,
        "motorsport/season.html",
        {
            "year": chosen,
            "years": years,
            "view": view,
            "with_requests": with_requests,
            "load": load,
            "calendar": calendar,
            "series": sorted({e.championship for e in calendar}),
            "clash_count": len(clashes) // 2 if clashes else 0,
            "requests": requests,
            "open_requests": [r for r in requests if r.status == "open"],
            "entries": entries,
            "policy": policy,
            "busy": busy,
            "short_resources": [b for b in busy if b.short_weeks],
            "load_chart": figures.load_figure(load, with_requests=with_requests),
            "kind_names": KIND_NAMES,
        },
    )


# --- Requests and evaluations --------------------------------------------------------------------


@router.get("/requests")
def requests_page(
    request: Request, session: SessionDep, user: MotorsportPage, year: SomeYear = None
) -> HTMLResponse:
    chosen, years = _year(session, year)
    return _requests_page(request, session, chosen, years, values={"year": str(chosen)})


def _requests_page(
    request: Request,
    session: Session,
    year: int,
    years: list[int],
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "year": year,
        "years": years,
        "requests": motorsport.list_requests(session, year=year),
        "team_choices": [(t.code, t.name) for t in motorsport.list_teams(session)],
        "series_choices": [(c.code, c.code) for c in motorsport.list_championships(session)],
        "year_choices": [(y, y) for y in years],
        "kinds": KINDS,
        "kind_names": KIND_NAMES,
        "values": values,
        "errors": errors or {},
    }
    return render(request, "motorsport/requests.html", context, status_code=status_code)


@router.get("/requests/{code}")
def evaluate(
    request: Request,
    session: SessionDep,
    user: MotorsportPage,
    code: RequestCode,
    rows: str = "all",
) -> HTMLResponse:
    stored = motorsport.get_request(session, code=code)
    try:
        evaluated = motorsport.evaluate_request(session, code=stored.code)
    except Conflict as exc:
        # Accepted or withdrawn: nothing to evaluate; show what was decided.
        return _evaluation_page(request, None, stored, rows, note=exc.detail)
    competing = _competing(session, stored.season, stored.code)
    return _evaluation_page(request, evaluated.read, stored, rows, competing=competing)


@router.get("/what-if")
def what_if(
    request: Request,
    session: SessionDep,
    user: MotorsportPage,
    team: str = "",
    championship: str = "",
    year: str = "",
    kind: str = "",
    base_region: str = "",
    rows: str = "all",
) -> HTMLResponse:
    values = {
        "team": team,
        "championship": championship,
        "year": year,
        "kind": kind,
        "base_region": base_region,
    }
    errors: dict[str, str] = {}
    for name, label in (
        ("team", "a team"),
        ("championship", "a series"),
        ("kind", "what they ask for"),
    ):
        if not values[name].strip():
            errors[name] = f"Choose {label}."
    digits = year.strip()
    season_year = int(digits) if digits.isdigit() and len(digits) <= 4 else None
    years = _years(session)
    if season_year is None or season_year not in years:
        errors["year"] = f"Choose a season: {', '.join(map(str, years))}."
    if not errors:
        try:
            evaluated = motorsport.evaluate_what_if(
                session,
                team=team,
                championship=championship,
                year=season_year or 0,
                kind=kind,
                base_region=base_region.strip() or None,
            )
        except DomainError as exc:
            errors["form"] = exc.detail
        else:
            stored = (
                motorsport.get_request(session, code=evaluated.stored_request)
                if evaluated.stored_request
                else None
            )
            competing = _competing(session, season_year, evaluated.stored_request)
            return _evaluation_page(
                request, evaluated.read, stored, rows, what_if=values, competing=competing
            )
    fallback = season_year if season_year in years else _year(session, None)[0]
    return _requests_page(
        request,
        session,
        fallback or years[-1],
        years,
        values=values,
        errors=errors,
        status_code=422,
    )


def _rows_filter(request: Request, rows: str, all_rows: list[Any]) -> dict[str, Any]:
    if rows not in ("all", "short", "tight"):
        raise Invalid("Rows are 'all', 'short' (shortfalls) or 'tight' (90 % or more).")
    if rows == "short":
        shown = [r for r in all_rows if r.shortfall > 0]
    elif rows == "tight":
        shown = [
            r
            for r in all_rows
            if r.shortfall > 0 or (r.capacity and (r.committed + r.requested) / r.capacity >= 0.9)
        ]
    else:
        shown = list(all_rows)
    others = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "rows"])
    base = f"{request.url.path}?{others}&" if others else f"{request.url.path}?"
    return {"rows": rows, "shown_rows": shown, "rows_base": base}


def _competing(session: Session, year: int | None, code: str | None) -> list[RequestRead]:
    """The season's other open requests (which want support too)."""
    return [
        r for r in motorsport.list_requests(session, year=year, status="open") if r.code != code
    ]


def _evaluation_page(
    request: Request,
    read: EvaluationRead | None,
    stored: RequestRead | None,
    rows: str,
    *,
    what_if: dict[str, str] | None = None,
    competing: list[RequestRead] | None = None,
    note: str = "",
) -> HTMLResponse:
    """A request's evaluation, or (no `read`: accepted or withdrawn) the `note` why none."""
    return render(
        request,
        "motorsport/evaluation.html",
        {
            "ev": read,
            "req": read.request if read else stored,
            "stored": stored,
            "note": note,
            "what_if": what_if,
            "competing": competing or [],
            "kind_names": KIND_NAMES,
            **_rows_filter(request, rows, read.rows if read else []),
        },
    )


# --- The season's decision -----------------------------------------------------------------------


@router.get("/decision")
def decision(
    request: Request, session: SessionDep, user: MotorsportPage, year: SomeYear = None
) -> HTMLResponse:
    chosen, years = _year(session, year)
    return _decision_page(request, session, chosen, years)


def _decision_page(
    request: Request,
    session: Session,
    year: int,
    years: list[int],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    decided = None
    note = ""
    try:
        decided = motorsport.decide_season(
            session, year=year, time_limit_s=request.app.state.settings.solver_seconds
        )
    except Invalid as exc:
        note = exc.detail
    recorded = motorsport.list_decisions(session, year=year)
    read = decided.read if decided else None
    choice = {}
    if read is not None:
        optimum = set(read.accepted)
        choice = {
            r.code: (values or {}).get(f"choice:{r.code}")
            or ("accept" if r.code in optimum else "decline")
            for r in read.requests
        }
    return render(
        request,
        "motorsport/decision.html",
        {
            "year": year,
            "years": years,
            "d": read,
            "note": note,
            "recorded": list(reversed(recorded)),
            "choice": choice,
            "values": values or {},
            "errors": errors or {},
            "kind_names": KIND_NAMES,
            "choices": CHOICES,
        },
        status_code=status_code,
    )


@router.post("/decision")
async def record(
    request: Request,
    session: SessionDep,
    user: MotorsportPage,
    year: Annotated[int, Query(ge=FIRST_SEASON, le=LAST_SEASON)],
) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    # The database and the solver work in a worker thread, off the event loop.
    return await run_in_threadpool(_record, request, session, user, year, values)


def _record(
    request: Request, session: Session, user: Principal, year: int, values: dict[str, str]
) -> Response:
    chosen, years = _year(session, year)
    accept, decline, errors = [], [], {}
    for key, value in values.items():
        if not key.startswith("choice:"):
            continue
        code = key.removeprefix("choice:")
        if value not in CHOICES:
            errors["form"] = f"Choose accept, decline or leave open for {code}."
        elif value == "accept":
            accept.append(code)
        elif value == "decline":
            decline.append(code)
    rationale = values.get("rationale", "").strip()
    if not accept and not decline and "form" not in errors:
        errors["form"] = "Accept or decline at least one request (the others stay open)."
    if len(rationale) < 10:
        errors["rationale"] = "Say why, in a sentence at least: the decision is recorded with it."
    elif len(rationale) > RATIONALE_MAX:
        errors["rationale"] = f"Keep the rationale under {RATIONALE_MAX} characters."
    if values.get("confirm") != "yes":
        errors["confirm"] = "Tick the box to confirm: accepted cars take support capacity."
    if errors:
        return _decision_page(
            request, session, chosen, years, values=values, errors=errors, status_code=422
        )
    try:
        recorded = motorsport.record_decision(
            session,
            year=chosen,
            decided_by=user.name[:ACTOR_MAX],
            actor=user.actor[:ACTOR_MAX],
            accept=accept,
            decline=decline,
            rationale=rationale,
        )
    except DomainError as exc:
        return _decision_page(
            request,
            session,
            chosen,
            years,
            values=values,
            errors={"form": exc.detail},
            status_code=exc.status,
        )
    flash(
        request,
        f"Decision recorded for {chosen}: {len(accept)} accepted, {len(decline)} declined.",
        "success",
    )
    return see_other(request, f"/motorsport/decisions/{recorded.id}")


@router.get("/decisions/{decision_id}")
def recorded_decision(
    request: Request, session: SessionDep, user: MotorsportPage, decision_id: DecisionId
) -> HTMLResponse:
    read = motorsport.get_decision(session, decision_id=decision_id, with_snapshot=False)
    return render(
        request,
        "motorsport/recorded.html",
        {"r": read, "kind_names": KIND_NAMES},
    )
