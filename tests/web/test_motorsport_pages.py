"""The motorsport planner through the TestClient on the demo's situation (late 2023): who may
open it, the season with its clashes and the load heat map, the evaluation of a second-car
request with its reasons, the what-if form and its errors, the set decision and recording it
(CSRF, rationale, confirmation, and nothing written when the support is not there)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from ortools.sat.python import cp_model
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.audit.models import AuditEntry
from paddock.bootstrap import register_domains
from paddock.demo.motorsport import load_motorsport
from paddock.motorsport import models as orm
from tests.factories import World
from tests.web.conftest import SignIn, csrf_from

JOTA = "jota-wec-2024-additional-car"
PROTON = "proton-wec-2024-additional-car"
JDC = "jdc-miller-imsa-2024-spare-car"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@pytest.fixture
def demo(db: Session, world: World) -> Session:
    register_domains()
    load_motorsport(db)
    db.commit()
    return db


def open_requests(db: Session) -> set[str]:
    db.rollback()
    return set(
        db.scalars(select(orm.SupportRequest.code).where(orm.SupportRequest.status == "open"))
    )


@pytest.mark.parametrize("path", ["/motorsport", f"/motorsport/requests/{JOTA}"])
def test_signed_out_visitors_are_sent_to_sign_in(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", ["operations", "coach"])
def test_other_roles_are_refused(
    web: TestClient, sign_in: SignIn, demo: Session, role: str
) -> None:
    sign_in(role)
    for path in ("/motorsport", "/motorsport/decision"):
        response = web.get(path)
        assert response.status_code == 403 and "the motorsport programme" in response.text
    refused = web.post(
        "/motorsport/decision?year=2024",
        data={"csrf_token": csrf_from(web), f"choice:{JOTA}": "accept"},
    )
    assert refused.status_code == 403
    assert JOTA in open_requests(demo)


@pytest.mark.parametrize("role", ["motorsport", "admin"])
def test_the_season_with_clashes_and_load(
    web: TestClient, sign_in: SignIn, demo: Session, role: str
) -> None:
    sign_in(role)
    page = web.get("/motorsport")  # the first season with open requests: 2024
    assert page.status_code == 200
    text = page.text
    assert "Season 2024: can we support another car?" in text
    assert "2 same-weekend clashes" in text and "IMSA Long Beach" in text and "WEC Imola" in text
    assert "Hertz Team Jota" in text and "Evaluate" in text
    assert "support runs short" in text and "Data specialists (Weissach)" in text
    block = re.search(r'<script type="application/json" id="load-data">(.*?)</script>', text, re.S)
    assert block
    heat = json.loads(block[1])["data"][0]
    assert heat["type"] == "heatmap" and len(heat["y"]) == 10 and len(heat["x"]) >= 52
    assert max(v for row in heat["z"] for v in row if v is not None) > 100  # over capacity
    committed = web.get("/motorsport?year=2024&view=committed")
    assert committed.status_code == 200 and "support runs short" not in committed.text
    assert web.get("/motorsport?year=2025").status_code == 200
    assert web.get("/motorsport?year=1999").status_code == 422
    assert web.get("/motorsport?view=sideways").status_code == 422


def test_a_second_car_request_with_its_reasons(
    web: TestClient, sign_in: SignIn, demo: Session
) -> None:
    sign_in("motorsport")
    page = web.get(f"/motorsport/requests/{PROTON}")
    assert page.status_code == 200
    text = page.text
    assert "Proton Competition: an additional car in WEC 2024" in text
    assert "verdict--accept" in text and "support capacity exists at every event" in text
    assert (
        "Shares with Proton Competition" in text and "Event by event, resource by resource" in text
    )
    assert "Imola" in text and "Data specialists (Weissach)" in text
    short = web.get(f"/motorsport/requests/{PROTON}?rows=short")
    assert "No shortfall" in short.text
    assert web.get(f"/motorsport/requests/{PROTON}?rows=odd").status_code == 422
    assert web.get("/motorsport/requests/nobody-wec-2024-additional-car").status_code == 404


def test_what_if_and_its_errors(web: TestClient, sign_in: SignIn, demo: Session) -> None:
    sign_in("motorsport")
    empty = web.get("/motorsport/what-if?year=2024")
    assert empty.status_code == 422
    assert "Choose a team." in empty.text and "Choose what they ask for." in empty.text
    unknown = web.get("/motorsport/what-if?team=nobody&championship=WEC&year=2024&kind=spare_car")
    assert unknown.status_code == 422 and "No customer team" in unknown.text
    ok = web.get("/motorsport/what-if?team=proton&championship=IMSA&year=2025&kind=spare_car")
    assert ok.status_code == 200 and "Proton Competition: a spare car in IMSA 2025" in ok.text
    assert "What-if evaluation (not recorded)" in ok.text


def test_the_set_decision_and_recording_it(web: TestClient, sign_in: SignIn, demo: Session) -> None:
    sign_in("motorsport")
    page = web.get("/motorsport/decision?year=2024")
    assert page.status_code == 200
    text = page.text
    assert "Proven optimal" in text and "Objective" in text and "Greedy value" in text
    assert "Why the others are declined" in text and "First binding constraint" in text
    assert f'name="choice:{JOTA}" value="accept" checked' in text  # the optimum preselected
    assert f'name="choice:{PROTON}" value="decline" checked' in text
    token = csrf_from(web, "/motorsport/decision?year=2024")
    choices = {f"choice:{JOTA}": "accept", f"choice:{PROTON}": "decline", f"choice:{JDC}": "open"}
    # No token: refused, nothing written.
    assert web.post("/motorsport/decision?year=2024", data=choices).status_code == 403
    # No rationale, no confirmation: the form says what is missing.
    missing = web.post("/motorsport/decision?year=2024", data={**choices, "csrf_token": token})
    assert missing.status_code == 422
    assert "Say why" in missing.text and "Tick the box to confirm" in missing.text
    assert open_requests(demo) == {JOTA, PROTON, JDC}
    # Accepting both second cars is more than the support (and the grid) allows: refused whole.
    too_many = web.post(
        "/motorsport/decision?year=2024",
        data={
            f"choice:{JOTA}": "accept",
            f"choice:{PROTON}": "accept",
            "rationale": "Both teams asked first; let us try.",
            "confirm": "yes",
            "csrf_token": token,
        },
    )
    assert too_many.status_code == 409 and "cannot be accepted" in too_many.text
    assert open_requests(demo) == {JOTA, PROTON, JDC}
    done = web.post(
        "/motorsport/decision?year=2024",
        data={
            **choices,
            "rationale": "Jota's second car is worth more; Proton over the WEC cap.",
            "confirm": "yes",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/motorsport/decisions/")
    assert open_requests(demo) == {JDC}
    decision = demo.scalar(select(orm.SupportDecision).order_by(orm.SupportDecision.id.desc()))
    assert decision is not None and decision.decided_by == "motorsport@example.com"
    audited = demo.scalars(
        select(AuditEntry.actor).where(
            AuditEntry.subject_kind.in_(["support_decision", "support_request"]),
            AuditEntry.action != "received",
        )
    ).all()
    assert audited and set(audited) == {"user:motorsport@example.com"}
    assert decision.rationale.startswith("Jota's second car")
    assert (
        demo.scalar(
            select(func.count())
            .select_from(orm.TeamEntry)
            .where(orm.TeamEntry.request_id.is_not(None))
        )
        == 1
    )
    shown = web.get(done.headers["location"])
    assert (
        shown.status_code == 200
        and "Decision recorded for 2024: 1 accepted, 1 declined" in shown.text
    )
    assert "Accepted" in shown.text and "Declined" in shown.text
    # The accepted request has nothing left to evaluate; its decision is shown instead.
    accepted = web.get(f"/motorsport/requests/{JOTA}")
    assert accepted.status_code == 200 and "already holds the support" in accepted.text


def test_the_decision_page_solves_within_the_servers_time_limit(
    web: TestClient, sign_in: SignIn, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits: list[float] = []
    solve = cp_model.CpSolver.solve

    def recording(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        limits.append(self.parameters.max_time_in_seconds)
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", recording)
    web.app.state.settings.solver_seconds = 0.75  # type: ignore[attr-defined]
    sign_in("motorsport")
    assert web.get("/motorsport/decision?year=2024").status_code == 200
    assert limits == [0.75]


@pytest.mark.parametrize(
    "path",
    [
        "/motorsport?year=99999999999999999999",
        "/motorsport/requests?year=-99999999999999999999",
        "/motorsport/decision?year=99999999999999999999",
        "/motorsport/decisions/99999999999999999999",
        "/motorsport/decisions/0",
        "/motorsport/what-if?team=jota&championship=WEC&kind=spare_car&year=" + "9" * 5000,
        "/motorsport/requests/" + "x" * 65,
    ],
)
def test_out_of_range_numbers_are_422_pages(
    web: TestClient, sign_in: SignIn, demo: Session, path: str
) -> None:
    sign_in("motorsport")
    response = web.get(path)
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]


def test_recording_with_an_out_of_range_year_is_422(
    web: TestClient, sign_in: SignIn, demo: Session
) -> None:
    sign_in("motorsport")
    token = csrf_from(web, "/motorsport/decision?year=2024")
    refused = web.post(
        "/motorsport/decision?year=99999999999999999999",
        data={f"choice:{JOTA}": "accept", "csrf_token": token},
    )
    assert refused.status_code == 422
    assert JOTA in open_requests(demo)
