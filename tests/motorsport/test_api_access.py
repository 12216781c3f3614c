"""Issue 11, finding 3: the motorsport API is the programme's alone, its audit trail names the
signed-in caller whatever the request says, the set decision runs within the server's time
limit, and out-of-range numbers, dates and text are 422 problem+json, never a 500 (SQLite and
PostgreSQL)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ortools.sat.python import cp_model
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.access import route_table
from paddock.audit.models import AuditEntry
from paddock.dealers import service as dealers
from paddock.motorsport import models as orm
from paddock.motorsport import service
from tests.auth import sign_in, sign_out
from tests.motorsport.conftest import JDC, JOTA, PROTON

API = "/api/v1/motorsport"
MANAGER = "user:motorsport@centre.example"
PATH_VALUES = {"team": "proton", "code": JOTA, "decision_id": "1"}


def motorsport_operations(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the app under /api/v1/motorsport, path parameters filled."""
    app: Any = client.app
    operations = [
        (r.method, re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], r.path))
        for r in route_table(app)
        if r.path.startswith(API + "/")
    ]
    assert len(operations) >= 28  # the loop covers the whole API, not a few routes
    return operations


def call(client: TestClient, method: str, url: str, **kwargs: Any) -> Any:
    """A request with a body of the type the route takes (JSON, or the calendar import's CSV)."""
    if url.endswith("/seasons/import"):
        kwargs.setdefault("content", CSV_2026)
        kwargs["headers"] = {**kwargs.get("headers", {}), "content-type": "text/csv"}
    elif method in ("POST", "PUT", "PATCH"):
        kwargs.setdefault("json", {})
    return client.request(method, url, **kwargs)


def open_requests(session: Session) -> set[str]:
    session.rollback()
    rows = session.scalars(
        select(orm.SupportRequest.code).where(orm.SupportRequest.status == "open")
    )
    return set(rows)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- Who may call it -------------------------------------------------------------------------


def test_anonymous_callers_get_401_on_every_operation(demo: Session, client: TestClient) -> None:
    for method, url in motorsport_operations(client):
        problem(call(client, method, url), 401)
    assert open_requests(demo) == {PROTON, JOTA, JDC}
    assert demo.scalar(select(func.count()).select_from(orm.CustomerTeam)) == 3


@pytest.mark.parametrize("role", ["dealer", "coach", "operations"])
def test_other_roles_get_403_on_every_operation(
    demo: Session, client: TestClient, role: str
) -> None:
    dealer = None
    if role == "dealer":
        dealer = "D-ATL-001"
        dealers.create_dealer(
            demo, code=dealer, name="Atlanta Motors", city="Atlanta", state="GA", region="Central"
        )
    sign_in(client, demo, role, dealer=dealer)
    for method, url in motorsport_operations(client):
        refused = problem(call(client, method, url), 403)
        assert "motorsport" in refused["detail"] or "admin" in refused["detail"]
    before = demo.scalar(select(func.max(AuditEntry.id)))
    assert open_requests(demo) == {PROTON, JOTA, JDC}
    assert demo.scalar(select(func.max(AuditEntry.id))) == before


def test_a_dealer_api_token_gets_403_on_every_operation(demo: Session, client: TestClient) -> None:
    dealer = dealers.create_dealer(
        demo, code="D-ATL-001", name="Atlanta Motors", city="Atlanta", state="GA", region="Central"
    )
    token = accounts.create_token(demo, dealer_id=dealer.id, name="DMS", actor="test")
    demo.commit()
    for method, url in motorsport_operations(client):
        problem(call(client, method, url, headers={"authorization": f"Bearer {token.secret}"}), 403)


@pytest.mark.parametrize("role", ["motorsport", "admin"])
def test_the_programme_and_admins_may_read(demo: Session, client: TestClient, role: str) -> None:
    sign_in(client, demo, role)
    assert client.get(f"{API}/requests", params={"season": 2024}).status_code == 200
    assert client.get(f"{API}/policy").status_code == 200


def test_the_policy_before_anything_is_loaded(client: TestClient, session: Session) -> None:
    sign_in(client, session, "motorsport")
    policy = client.get(f"{API}/policy")  # the defaults, never stored: was a 500
    assert policy.status_code == 200, policy.text
    assert (policy.json()["default_max_cars"], policy.json()["updated_by"]) == (2, "")
    changed = client.put(f"{API}/policy", json={"default_max_cars": 3}).json()
    assert (changed["default_max_cars"], changed["updated_by"]) == (3, MANAGER)


# --- The audit trail names the signed-in caller -------------------------------------------------

# One of each write, with the body it needs (the actor is never part of it).
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/teams", {"code": "united", "name": "United Autosports", "base_region": "Europe"}),
    ("PATCH", "/teams/proton", {"priority": 4}),
    ("PUT", "/policy", {"max_cars_by_series": {"WEC": 10}}),
    (
        "POST",
        "/requests",
        {"team": "jota", "championship": "WEC", "season": 2024, "kind": "additional_car"},
    ),
    ("POST", "/decisions", {"season": 2024, "accept": [JOTA], "rationale": "room for a car"}),
    (
        "POST",
        "/results",
        {"championship": "IMSA", "season": 2024, "car_number": "85", "event": "Sebring"},
    ),
    (
        "POST",
        "/deliveries",
        {
            "championship": "IMSA",
            "season": 2024,
            "car_number": "85",
            "event": "Sebring",
            "items": [{"kind": "engineer", "delivered": 1}],
        },
    ),
]
CSV_2026 = (
    "championship,season,round,venue,country,region,start_date,end_date\n"
    "IMSA,2026,Rolex 24 at Daytona,Daytona International Speedway,USA,North America,"
    "2026-01-24,2026-01-25\n"
)


@pytest.fixture
def manager(demo: Session, client: TestClient) -> Iterator[Session]:
    sign_in(client, demo, "motorsport")
    yield demo
    sign_out(client)


@pytest.mark.parametrize("field", ["actor", "decided_by"])
def test_a_body_naming_the_actor_is_refused(
    manager: Session, client: TestClient, field: str
) -> None:
    before = manager.scalar(select(func.max(AuditEntry.id)))
    for method, path, body in WRITES:
        refused = problem(
            call(client, method, API + path, json={**body, field: "someone else"}), 422
        )
        assert f"'{field}' cannot be set" in refused["detail"]
    current = client.get(f"{API}/standard").json()
    standard = {"lines": current["lines"], field: "someone else"}
    problem(client.put(f"{API}/standard", json=standard), 422)
    assert manager.scalar(select(func.max(AuditEntry.id))) == before


def test_every_write_is_audited_as_the_signed_in_user(manager: Session, client: TestClient) -> None:
    before = manager.scalar(select(func.max(AuditEntry.id))) or 0
    for method, path, body in WRITES:
        response = call(client, method, API + path, json=body)
        assert response.status_code in (200, 201), (path, response.text)
    current = client.get(f"{API}/standard").json()
    assert client.put(f"{API}/standard", json={"lines": current["lines"]}).status_code == 201
    # A query parameter named actor, as the API once took, is ignored.
    withdrawn = client.post(f"{API}/requests/{JDC}/withdraw", params={"actor": "someone else"})
    assert withdrawn.status_code == 200
    imported = client.post(
        f"{API}/seasons/import",
        params={"actor": "someone else"},
        content=CSV_2026,
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text

    manager.rollback()
    written = manager.execute(
        select(AuditEntry.subject_kind, AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.id > before
        )
    ).all()
    subjects = {kind for kind, _, _ in written}
    assert {
        "customer_team",
        "grid_policy",
        "support_request",
        "support_decision",
        "race_result",
        "team_entry",
        "support_standard",
    } <= subjects
    assert ("support_request", "withdrawn", MANAGER) in written
    assert {actor for _, _, actor in written} == {MANAGER}, written
    # The names stored beside the data are the caller's too.
    policy = client.get(f"{API}/policy").json()
    assert policy["updated_by"] == MANAGER
    assert client.get(f"{API}/standard").json()["created_by"] == MANAGER
    decision = client.get(f"{API}/decisions", params={"season": 2024}).json()[0]
    assert decision["decided_by"] == "motorsport@centre.example"
    delivered_by = manager.scalars(select(orm.SupportDelivery.recorded_by)).all()
    assert MANAGER in delivered_by


# --- The set decision within the server's time limit -------------------------------------------


@pytest.fixture
def solver_limits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The max_time_in_seconds each CP-SAT search was given."""
    limits: list[float] = []
    solve = cp_model.CpSolver.solve

    def recording(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        limits.append(self.parameters.max_time_in_seconds)
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", recording)
    return limits


def test_a_huge_time_limit_is_cut_to_the_servers(
    manager: Session, client: TestClient, solver_limits: list[float]
) -> None:
    server = client.app.state.settings.solver_seconds  # type: ignore[attr-defined]
    assert server == 10.0  # PADDOCK_SOLVER_SECONDS' default
    huge = client.post(f"{API}/decisions/decide", json={"season": 2024, "time_limit_s": 1e12})
    assert huge.status_code == 200, huge.text
    assert solver_limits == [server]
    assert (huge.json()["time_limit_s"], huge.json()["time_limit_reached"]) == (server, False)

    shorter = client.post(f"{API}/decisions/decide", json={"season": 2024, "time_limit_s": 2.5})
    assert solver_limits[-1] == 2.5 and shorter.json()["time_limit_s"] == 2.5
    assert client.post(f"{API}/decisions/decide", json={"season": 2024}).status_code == 200
    assert solver_limits[-1] == server
    for bad in (0, -1, "soon"):
        body = {"season": 2024, "time_limit_s": bad}
        problem(client.post(f"{API}/decisions/decide", json=body), 422)
    nan = client.post(
        f"{API}/decisions/decide",
        content='{"season": 2024, "time_limit_s": NaN}',
        headers={"content-type": "application/json"},
    )
    problem(nan, 422)

    # The server's own limit follows its setting; recording the optimum solves within it too.
    client.app.state.settings.solver_seconds = 0.5  # type: ignore[attr-defined]
    client.post(f"{API}/decisions/decide", json={"season": 2024, "time_limit_s": 60})
    assert solver_limits[-1] == 0.5
    recorded = client.post(f"{API}/decisions", json={"season": 2024, "use_optimum": True})
    assert recorded.status_code == 201 and solver_limits[-1] == 0.5
    assert not math.isnan(solver_limits[-1])


@pytest.mark.parametrize("status", ["FEASIBLE", "UNKNOWN"])
def test_the_answer_says_when_the_time_limit_was_reached(
    manager: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    solve = cp_model.CpSolver.solve
    stopped = getattr(cp_model, status)

    def out_of_time(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        solve(self, *args, **kwargs)
        return stopped

    monkeypatch.setattr(cp_model.CpSolver, "solve", out_of_time)
    decided = client.post(f"{API}/decisions/decide", json={"season": 2024}).json()
    assert decided["status"] == status and decided["time_limit_reached"] is True
    assert decided["proven_optimal"] is False
    if status == "UNKNOWN":  # nothing found in time: greedy's set, in order of arrival
        assert decided["accepted"] == decided["greedy"]["accepted"] == [PROTON, JDC]
        assert "found no set within its 10 s time limit" in decided["summary"][1]
    else:
        assert decided["accepted"] == [JOTA, JDC]
        assert (
            "stopped at its 10 s time limit: this is the best set found" in (decided["summary"][1])
        )


def test_one_set_decision_at_a_time(
    manager: Session, client: TestClient, solver_limits: list[float]
) -> None:
    client.app.state.settings.solver_seconds = 0.05  # type: ignore[attr-defined]
    assert service.SOLVING.acquire(timeout=5)  # another decision is being worked out
    try:
        busy = client.post(f"{API}/decisions/decide", json={"season": 2024})
        assert problem(busy, 503)["type"].endswith("/busy") and busy.headers["retry-after"]
        recorded = client.post(f"{API}/decisions", json={"season": 2024, "use_optimum": True})
        problem(recorded, 503)
    finally:
        service.SOLVING.release()
    assert solver_limits == [] and open_requests(manager) == {PROTON, JOTA, JDC}
    assert client.post(f"{API}/decisions/decide", json={"season": 2024}).status_code == 200


# --- Bounded input -----------------------------------------------------------------------------

HUGE = 99999999999999999999  # past 64 bits
BAD_GETS = [
    "/decisions/99999999999999999999",
    "/decisions/0",
    "/decisions/-1",
    "/standard?version=99999999999999999999",
    "/standard?version=0",
    "/calendar?season=9999",
    "/calendar?season=99999999999999999999",
    "/entries?season=99999999999999999999",
    "/resources?season=99999999999999999999",
    "/resources/load?season=1",
    "/requests?season=-99999999999999999999",
    "/decisions?season=99999999999999999999",
    "/results?season=99999999999999999999",
    "/service-level?season=99999999999999999999",
    "/requests/%00",
    "/teams/jota%00",
    "/requests?status=open%00",
    "/results?team=%00",
]


@pytest.mark.parametrize("path", BAD_GETS)
def test_out_of_range_reads_are_422(manager: Session, client: TestClient, path: str) -> None:
    problem(client.get(API + path), 422)


REQUEST = {"team": "jota", "championship": "WEC", "season": 2024, "kind": "additional_car"}
BAD_WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/requests", {**REQUEST, "season": HUGE}),
    ("POST", "/requests", {**REQUEST, "received_on": "9999-12-31"}),
    ("POST", "/requests", {**REQUEST, "received_on": "0001-01-01"}),
    ("POST", "/requests", {**REQUEST, "note": "a\u0000b"}),
    ("POST", "/teams", {"code": "nul", "name": "N\u0000L", "base_region": "Europe"}),
    ("PATCH", "/teams/jota", {"priority": HUGE}),
    ("PUT", "/policy", {"max_cars_by_series": {"WEC": HUGE}}),
    ("PUT", "/policy", {"strategic_weight": {"WEC": -HUGE}}),
    ("PUT", "/policy", {"default_max_cars": HUGE}),
    ("POST", "/evaluate", {**REQUEST, "season": HUGE}),
    ("POST", "/decisions/decide", {"season": HUGE}),
    ("POST", "/decisions/decide", {"season": 2024, "requests": ["x" * 65]}),
    ("POST", "/decisions", {"season": 2024, "accept": ["\u0000"]}),
    (
        "POST",
        "/results",
        {"championship": "IMSA", "season": HUGE, "car_number": "85", "event": "x"},
    ),
    (
        "POST",
        "/deliveries",
        {
            "championship": "IMSA",
            "season": 2024,
            "car_number": "85",
            "event": "Sebring",
            "items": [{"kind": "engineer", "delivered": HUGE}],
        },
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_WRITES)
def test_out_of_range_writes_are_422(
    manager: Session, client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    before = manager.scalar(select(func.max(AuditEntry.id)))
    problem(call(client, method, API + path, json=body), 422)
    assert manager.scalar(select(func.max(AuditEntry.id))) == before


def test_standard_dates_and_import_parameters_are_bounded(
    manager: Session, client: TestClient
) -> None:
    lines = client.get(f"{API}/standard").json()["lines"]
    for day in ("9999-12-31", "1066-10-14"):
        problem(client.put(f"{API}/standard", json={"lines": lines, "effective_from": day}), 422)
    for params in ({"season": HUGE}, {"season": 12}, {"format": "xml"}):
        sent = client.post(
            f"{API}/seasons/import",
            params=params,
            content=CSV_2026,
            headers={"content-type": "text/csv"},
        )
        problem(sent, 422)
