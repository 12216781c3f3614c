"""The access matrix: every route of the app (JSON and pages), generated from the app's own
routes, called by anonymous visitors and by every role, including another dealer's staff on
a dealer's own objects. A route added without an access rule fails here (and the app refuses
to start); a route whose rule is loosened fails the hand-written table of the sensitive ones.

What each caller must get:
- a public route: anything but "sign in" or "forbidden";
- anonymous (or an API token on a page) on any other route: 401 (JSON) or 303 to /login;
- a role the route's rules do not admit: 403 (or 415/413: refused at the edge before it);
- a role admitted: anything but 401/403 (often 404 or 422: the point is the gate);
- another dealer's staff on a dealer's object: 403 or 404 (or 422/415: the body sent here is
  refused before the object is looked up; tests/dealers/test_scoping.py sends valid ones),
  and never that dealer's data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.access import PUBLIC_ROUTES, RouteAccess, check_app, route_table
from paddock.accounts.models import Role
from paddock.app import create_app
from paddock.bookings import service as bookings
from paddock.capacity import operations
from paddock.crm import service as crm
from paddock.db import make_engine, make_session_factory
from paddock.dealers import service as dealers
from paddock.settings import Settings
from paddock.web.guest import qr
from tests.auth import sign_in
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.factories import MONDAY, at

# North's private data: none of it may reach South's staff, whatever the route.
NORTH_SECRETS = ("Nora North", "nora@north.example", "Nina Guest", "nina@example.com")


@dataclass
class Caller:
    name: str
    role: Role | None  # None: anonymous
    client: TestClient
    token: bool = False  # a dealer's API token, not a person
    other_dealer: bool = False  # South's staff: North's objects are not theirs
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Objects:
    values: dict[str, str]

    def path(self, template: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            key = _param_key(template, name)
            assert key in self.values, f"tests/test_access.py: add a value for {key!r}"
            return self.values[key]

        return re.sub(r"{(\w+)(?::\w+)?}", value, template)


def _param_key(template: str, name: str) -> str:
    """Path parameters named alike mean different things under different prefixes."""
    if name == "code":
        for prefix, key in (
            ("/api/v1/sites/", "site"),
            ("/api/v1/products/", "product"),
            ("/book/", "product"),
            ("/api/v1/dealers/", "dealer"),
            ("/api/v1/kpi/dealers/", "dealer"),
            ("/api/v1/invitations/", "invitation"),
            ("/invite/", "invitation"),
            ("/api/v1/motorsport/requests/", "request"),
            ("/motorsport/requests/", "request"),
            ("/admin/sites/", "site"),
            ("/admin/products/", "product"),
            ("/admin/dealers/", "dealer"),
        ):
            if template.startswith(prefix):
                return key
        if "/codes/{code}" in template:
            return "campaign_code"
    if name == "token":
        return "scan_token" if template.startswith("/ops/scan/") else "manage_token"
    return name


# Path parameters naming one of North's objects: South's staff must be refused on them.
NORTH_OWNED = ("dealer", "campaign_id", "person_id", "token_id", "campaign_code")


def _north_owned(template: str) -> bool:
    names = re.findall(r"{(\w+)(?::\w+)?}", template)
    return any(_param_key(template, n) in NORTH_OWNED for n in names)


# The sensitive routes, by hand: who may call them. A rule loosened by mistake fails here.
EXPECTED: dict[tuple[str, str], set[Role]] = {
    ("GET", "/api/v1/bookings"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    ("GET", "/api/v1/bookings/{ref}"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    ("POST", "/api/v1/bookings/{ref}/cancel"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/bookings/{ref}/check-in"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/bookings/{ref}/no-show"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/bookings/{ref}/move"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/blocks"): {Role.ADMIN, Role.OPERATIONS},
    ("DELETE", "/api/v1/blocks/{block_id}"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/units/{unit_id}/retire"): {Role.ADMIN, Role.OPERATIONS},
    ("PATCH", "/api/v1/sites/{code}/pools/{pool}"): {Role.ADMIN, Role.OPERATIONS},
    ("PUT", "/api/v1/motorsport/policy"): {Role.ADMIN, Role.MOTORSPORT},
    ("PUT", "/api/v1/motorsport/standard"): {Role.ADMIN, Role.MOTORSPORT},
    ("POST", "/api/v1/motorsport/decisions/decide"): {Role.ADMIN, Role.MOTORSPORT},
    ("POST", "/api/v1/motorsport/seasons/import"): {Role.ADMIN, Role.MOTORSPORT},
    ("GET", "/api/v1/people"): {Role.ADMIN, Role.OPERATIONS, Role.DEALER},
    ("POST", "/api/v1/sales"): {Role.ADMIN, Role.OPERATIONS, Role.DEALER},
    ("POST", "/api/v1/people/{person_id}/erase"): {Role.ADMIN},
    ("POST", "/api/v1/users"): {Role.ADMIN},
    ("GET", "/api/v1/kpi"): {Role.ADMIN, Role.OPERATIONS, Role.MOTORSPORT},
    ("POST", "/ops/bookings/{ref}/check-in"): {Role.ADMIN, Role.OPERATIONS},
    ("GET", "/ops"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    # The admin pages: centre admins only.
    ("GET", "/admin"): {Role.ADMIN},
    ("GET", "/admin/users"): {Role.ADMIN},
    ("POST", "/admin/users"): {Role.ADMIN},
    ("POST", "/admin/users/{user_id}/reset"): {Role.ADMIN},
    ("POST", "/admin/users/{user_id}/deactivate"): {Role.ADMIN},
    ("POST", "/admin/users/{user_id}/activate"): {Role.ADMIN},
    ("GET", "/admin/dealers"): {Role.ADMIN},
    ("POST", "/admin/dealers"): {Role.ADMIN},
    ("GET", "/admin/dealers/{code}"): {Role.ADMIN},
    ("POST", "/admin/dealers/{code}/places"): {Role.ADMIN},
    ("GET", "/admin/products"): {Role.ADMIN},
    ("POST", "/admin/products/{code}/price"): {Role.ADMIN},
    ("GET", "/admin/sites"): {Role.ADMIN},
    ("POST", "/admin/sites/{code}/year-one"): {Role.ADMIN},
    ("POST", "/admin/sites/{code}/hours"): {Role.ADMIN},
    # The operations desk (issue 14): operations act, coaches read the run sheet.
    ("POST", "/api/v1/desk/bookings"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/desk/bookings/{ref}/cancel"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/api/v1/desk/units/{unit_id}/block"): {Role.ADMIN, Role.OPERATIONS},
    ("GET", "/api/v1/desk/run-sheet"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    ("GET", "/ops/phone"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/ops/phone"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/ops/bookings/{ref}/cancel"): {Role.ADMIN, Role.OPERATIONS},
    ("POST", "/ops/fleet/block-and-move"): {Role.ADMIN, Role.OPERATIONS},
    ("GET", "/ops/run-sheet"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    ("GET", "/ops/run-sheet.pdf"): {Role.ADMIN, Role.OPERATIONS, Role.COACH},
    ("GET", "/ops/my-day"): {Role.COACH},
}


@pytest.fixture
def app(sqlite_url: str) -> Iterator[FastAPI]:
    settings = Settings(database_url=sqlite_url, environment="test", hold_minutes=10)
    yield create_app(settings, sweeper=False)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_every_route_has_an_access_rule_and_every_public_entry_a_route(app: FastAPI) -> None:
    table = route_table(app)
    assert len(table) > 150  # the whole app, pages included
    assert [f"{r.method} {r.path}" for r in table if not r.public and not r.rules] == []
    present = {(r.method, r.path) for r in table}
    assert set(PUBLIC_ROUTES) <= present
    assert set(EXPECTED) <= present, set(EXPECTED) - present


def test_a_route_added_without_a_rule_is_closed_and_stops_the_app(app: FastAPI) -> None:
    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "everyone's"}

    with pytest.raises(RuntimeError, match="no rule for GET /api/v1/forgotten"):
        check_app(app)
    # Even if it were served, nobody gets through, signed in or not.
    client = TestClient(app)
    refused = client.get("/api/v1/forgotten")
    assert refused.status_code == 403 and "secret" not in refused.text


def _world(db: Session, app: FastAPI) -> Objects:
    world = make_dealer_world(db)
    north = world.north
    person = crm.create_person(
        db, name="Nora North", email="nora@north.example", dealer_id=north.id
    )
    code = dealers.create_code(db, scope=STAFF, campaign_id=world.campaign.id, max_uses=None)
    booked = dealers.book_with_code(
        db,
        code=code.code,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=bookings.Guest("Nina Guest", "nina@example.com"),
    )
    victim = accounts.create_token(db, dealer_id=north.id, name="victim", actor="test")
    other = accounts.create_user(
        db, email="victim@centre.example", role="coach", password="x" * 12, password_hash="x"
    )
    unit = world.world.units["car"][0]
    block = operations.block_unit(
        db,
        unit_id=world.world.units["car"][1].id,
        starts_at=at(MONDAY + timedelta(days=2), 8),
        ends_at=at(MONDAY + timedelta(days=2), 9),
        reason="Tyres",
    )
    ref = booked.booking.ref
    secret = str(app.state.settings.secret_key)
    return Objects(
        {
            "ref": ref,
            "manage_token": booked.booking.manage_token,
            "scan_token": qr.check_in_token(secret, ref),
            "site": "TST",
            "product": "drive",
            "product_code": "drive",
            "dealer": north.code,
            "invitation": code.code,
            "campaign_code": code.code,
            "request": "no-such-request",
            "campaign_id": str(world.campaign.id),
            "person_id": str(person.id),
            "token_id": str(victim.token.id),
            "user_id": str(other.id),
            "unit_id": str(unit.id),
            "block_id": str(block.id),
            "event_id": "1",
            "decision_id": "1",
            "team": "jota",
            "month": "2031-06",
            "pool": "car",
            "path": "no-such-file.css",
        }
    )


def _callers(app: FastAPI, db: Session, objects: Objects) -> list[Caller]:
    def client() -> TestClient:
        return TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    callers = [Caller("anonymous", None, client())]
    for role in (Role.ADMIN, Role.OPERATIONS, Role.COACH, Role.MOTORSPORT):
        c = client()
        sign_in(c, db, role.value)
        callers.append(Caller(role.value, role, c))
    north = client()
    sign_in(north, db, "dealer", dealer=objects.values["dealer"])
    callers.append(Caller("north staff", Role.DEALER, north))
    dealer_id = accounts.dealer_id_for_code(db, objects.values["dealer"])
    token = accounts.create_token(db, dealer_id=dealer_id, name="north dms", actor="test")
    callers.append(
        Caller(
            "north token",
            Role.DEALER,
            client(),
            token=True,
            headers={"Authorization": f"Bearer {token.secret}"},
        )
    )
    south = client()
    sign_in(south, db, "dealer", dealer="D-ATL-002")
    callers.append(Caller("south staff", Role.DEALER, south, other_dealer=True))
    for caller in callers:  # the pages' forms carry a CSRF token
        page = caller.client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, "no CSRF token on /login"
        caller.headers["X-CSRF-Token"] = found.group(1)
    return callers


# Refusals of the request itself, made at the edge before the access rules are looked at.
EDGE = (413, 415)

# Routes that end the caller's own session: the caller signs in again after them.
SESSION_ENDERS = {("POST", "/api/v1/auth/logout"), ("POST", "/logout")}


def _is_page(route: RouteAccess) -> bool:
    return not route.path.startswith("/api/") and route.path != "/healthz"


def test_the_matrix(app: FastAPI, db: Session) -> None:
    objects = _world(db, app)
    callers = _callers(app, db, objects)
    failures: list[str] = []
    for route in route_table(app):
        url = objects.path(route.path)
        for caller in callers:
            response = caller.client.request(
                route.method,
                url,
                json={} if route.method in ("POST", "PUT", "PATCH") else None,
                headers=caller.headers,
            )
            problem = _check(route, caller, response.status_code, response.headers, response.text)
            if problem:
                failures.append(f"{route.method} {route.path} as {caller.name}: {problem}")
            if (route.method, route.path) in SESSION_ENDERS and caller.role is not None:
                if not caller.token:
                    sign_in(caller.client, db, caller.role.value, dealer=_dealer_of(caller))
    assert failures == [], "\n".join(failures)


def _dealer_of(caller: Caller) -> str | None:
    if caller.role != Role.DEALER:
        return None
    return "D-ATL-002" if caller.other_dealer else "D-NYC-001"


def _check(route: RouteAccess, caller: Caller, status: int, headers: Any, text: str) -> str | None:
    if status >= 500:
        return f"answered {status}"
    page = _is_page(route)
    if route.public:  # the manage link's token, an invitation's code: the key is the right
        return f"public route refused with {status}" if status in (401, 403) else None
    if caller.other_dealer and any(secret in text for secret in NORTH_SECRETS):
        return "shows North's data"
    anonymous = caller.role is None or (page and caller.token)
    if anonymous:
        if page:
            location = headers.get("location", "")
            ok = status == 303 and location.startswith("/login")
            return None if ok else f"expected 303 to /login, got {status} {location}"
        return None if status == 401 else f"expected 401, got {status}"
    assert caller.role is not None
    admitted = route.admits(caller.role, token=caller.token)
    expected = EXPECTED.get((route.method, route.path))
    if expected is not None and not caller.token and admitted != (caller.role in expected):
        return f"the rules admit {caller.role}: {admitted}; expected {sorted(expected)}"
    if not admitted:
        return None if status in (403, *EDGE) else f"expected 403, got {status}"
    if caller.other_dealer and _north_owned(route.path):
        writes = route.method in ("POST", "PUT", "PATCH")
        refused = (403, 404, 422, *EDGE) if writes else (403, 404)
        return None if status in refused else f"North's object answered {status}"
    return f"admitted role refused with {status}" if status in (401, 403) else None
