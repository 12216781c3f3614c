"""HotRoutes: the busiest endpoint taken before FastAPI's router, answering as the route
would (the same dependencies, the app's own exception handlers, inside the outer
middleware)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.errors import Forbidden, SoldOut
from paddock.hot_routes import HotRoutes
from paddock.http import install_problem_handlers
from tests.factories import MONDAY, at, make_world

calls: list[str] = []


async def hot(request: Request) -> Response:
    calls.append(f"hot {request.method} {request.url.path}")
    kind = request.query_params.get("fail")
    if kind == "domain":
        raise SoldOut("Cars: 0 free of 1 wanted.")
    if kind == "crash":
        raise RuntimeError("a bug")
    return Response(b'{"ok": true}', status_code=201, media_type="application/json")


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter()
    router.add_api_route("/things", hot, methods=["POST"])

    @router.get("/things")
    async def listed() -> list[str]:
        calls.append("router")
        return []

    app.include_router(router)
    app.add_middleware(HotRoutes, routes={("POST", "/things")})
    return app


def test_the_hot_route_answers_before_the_router_and_the_rest_passes_through() -> None:
    calls.clear()
    client = TestClient(tiny_app(), raise_server_exceptions=False)
    assert client.post("/things").status_code == 201
    assert client.get("/things").json() == []  # another method: the router's
    assert client.post("/things/other").status_code == 404  # another path: the router's
    assert calls == ["hot POST /things", "router"]


async def _who(request: Request) -> str:
    calls.append("who")
    return request.headers.get("x-who", "")


def _refuse_mallory(who: str = Depends(_who)) -> None:  # sync: run in a thread
    calls.append("refuse")
    if who == "mallory":
        raise Forbidden("Not you.")


def test_dependencies_of_the_app_and_the_router_run_on_the_hot_path_too() -> None:
    """A guard added to the app or to the route's router later applies to the hot route,
    with sub-dependencies solved once per request."""
    calls.clear()
    app = FastAPI(dependencies=[Depends(_who)])
    install_problem_handlers(app)
    router = APIRouter(dependencies=[Depends(_refuse_mallory)])
    router.add_api_route("/things", hot, methods=["POST"])
    app.include_router(router)
    app.add_middleware(HotRoutes, routes={("POST", "/things")})
    client = TestClient(app, raise_server_exceptions=False)
    assert client.post("/things", headers={"x-who": "alice"}).status_code == 201
    assert calls == ["who", "refuse", "hot POST /things"]  # _who once: cached per request
    refused = client.post("/things", headers={"x-who": "mallory"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert calls[-1] == "refuse"  # the endpoint did not run


def test_a_dependency_the_hot_path_cannot_solve_stops_the_app_instead_of_being_skipped() -> None:
    def needs_a_query(limit: int) -> None: ...

    app = FastAPI()
    router = APIRouter(dependencies=[Depends(needs_a_query)])
    router.add_api_route("/things", hot, methods=["POST"])
    app.include_router(router)
    app.add_middleware(HotRoutes, routes={("POST", "/things")})
    with pytest.raises(RuntimeError, match="cannot give"):
        TestClient(app).post("/things")


def test_its_errors_are_answered_by_the_apps_handlers() -> None:
    client = TestClient(tiny_app(), raise_server_exceptions=False)
    refused = client.post("/things?fail=domain")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "Cars: 0 free of 1 wanted."
    # No handler for a bug: the 500 handler outside answers, as for any route.
    assert client.post("/things?fail=crash").status_code == 500


def test_the_booking_endpoint_keeps_its_headers_schema_and_problems(
    client: TestClient, session: Session
) -> None:
    make_world(session)
    body = {
        "product": "drive",
        "starts_at": at(MONDAY, 10).isoformat(),
        "guest": {"name": "Ann Lee", "email": "ann@example.com"},
    }
    made = client.post("/api/v1/bookings", json=body)
    assert made.status_code == 201
    assert made.headers["location"] == f"/api/v1/bookings/{made.json()['ref']}"
    assert made.headers["x-content-type-options"] == "nosniff"  # the outer middleware ran
    invalid = client.post("/api/v1/bookings", json={**body, "product": ""})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert invalid.headers["x-content-type-options"] == "nosniff"
    # Still documented: FastAPI's route stays declared for the schema.
    assert "post" in client.get("/openapi.json").json()["paths"]["/api/v1/bookings"]


def test_a_database_that_does_not_answer_is_503_not_a_server_error() -> None:
    from paddock.app import create_app
    from paddock.settings import Settings

    nowhere = Settings(database_url="postgresql://postgres@127.0.0.1:1/test", environment="test")
    body = {
        "product": "drive",
        "starts_at": at(MONDAY, 10).isoformat(),
        "guest": {"name": "Ann Lee", "email": "ann@example.com"},
    }
    with TestClient(create_app(nowhere, sweeper=False), raise_server_exceptions=False) as client:
        for response in (client.get("/api/v1/sites"), client.post("/api/v1/bookings", json=body)):
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "1"
            assert "cannot be reached" in response.json()["detail"]
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")


def test_a_database_not_yet_migrated_says_so(tmp_path: Path) -> None:
    from paddock.app import create_app
    from paddock.settings import Settings

    empty = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", environment="test")
    with TestClient(create_app(empty, sweeper=False), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/sites")
    assert response.status_code == 503
    assert "paddock db upgrade" in response.json()["detail"]
