"""Input limits at the edge (issue 11, findings 6, 10 and 11): body size, NUL, media types and
cross-site writes, answered as problem+json on every route, the hot booking route included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.app import create_app
from paddock.bookings.models import Booking
from paddock.settings import Settings
from tests.auth import sign_in
from tests.crm.helpers import make_dealer
from tests.factories import MONDAY, at, make_world

MiB = 2**20
BOOKING = {
    "product": "drive",
    "starts_at": at(MONDAY, 10).isoformat(),
    "guest": {"name": "Ann Lee", "email": "ann@example.com"},
}


def problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if code is not None:
        assert body["type"].endswith("/" + code), body
    return body


@pytest.fixture
def small(sqlite_url: str) -> Iterator[TestClient]:
    """SQLite only: the edge does not depend on the database."""
    settings = Settings(database_url=sqlite_url, environment="test")
    with TestClient(create_app(settings, sweeper=False), raise_server_exceptions=False) as client:
        yield client


# Body size ----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_on_the_hot_booking_route(small: TestClient) -> None:
    body = json.dumps(BOOKING | {"notes": "x" * (MiB + 10)})
    answer = problem(
        small.post("/api/v1/bookings", content=body, headers={"content-type": "application/json"}),
        413,
        "too-large",
    )
    assert "1 MiB" in answer["detail"]


def test_an_import_may_send_more_than_the_body_limit_but_not_more_than_the_upload_limit(
    small: TestClient, sqlite_url: str
) -> None:
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        sign_in(small, session, "operations")
    headers = {"content-type": "text/csv"}
    header = b"email,name,model,sold_on,deal_ref\n"
    two_mib = header + b"a@example.com,Ann Lee,911,2026-01-01,D1\n" * (2 * MiB // 40)
    answer = small.post("/api/v1/sales/import?dry_run=true", content=two_mib, headers=headers)
    assert answer.status_code != 413, answer.text  # read and checked by the import itself
    six_mib = header + b"x" * (6 * MiB)
    body = problem(small.post("/api/v1/sales/import", content=six_mib, headers=headers), 413)
    assert "5 MiB" in body["detail"] and "split the file" in body["detail"]


def test_the_limit_is_a_setting(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, environment="test", max_body_bytes=2048)
    with TestClient(create_app(settings, sweeper=False)) as client:
        body = BOOKING | {"notes": "x" * 1500}
        assert client.post("/api/v1/bookings", json=body).status_code != 413
        problem(client.post("/api/v1/bookings", json=body | {"notes": "x" * 2100}), 413)


def _asgi_post(
    app: FastAPI, path: str, chunks: Iterator[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes, int]:
    """POST a body chunk by chunk (as a server does for a chunked request): the status,
    headers and body of the answer, and how many chunks the app pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], answer_headers, body, pulled


def test_a_chunked_body_is_counted_as_it_streams_in_and_refused_once_past_the_limit(
    sqlite_url: str,
) -> None:
    """200 MB without a Content-Length: refused after a little more than 1 MiB was read."""
    app = create_app(Settings(database_url=sqlite_url, environment="test"), sweeper=False)
    chunk = b"x" * 65536
    chunks = iter([b'{"notes": "'] + [chunk] * (200 * MiB // len(chunk)))
    headers = {"host": "testserver", "content-type": "application/json"}
    status, answer, body, pulled = _asgi_post(
        app, "/api/v1/bookings", chunks, headers | {"transfer-encoding": "chunked"}
    )
    assert status == 413 and answer["content-type"] == "application/problem+json"
    assert json.loads(body)["type"].endswith("/too-large")
    assert pulled <= MiB // len(chunk) + 2  # never the whole body
    # A declared length over the limit: refused before a byte is read.
    status, _, _, pulled = _asgi_post(
        app, "/api/v1/bookings", iter([chunk] * 4000), headers | {"content-length": "262144000"}
    )
    assert (status, pulled) == (413, 0)


def test_a_page_form_over_the_limit_gets_an_error_page(small: TestClient) -> None:
    response = small.post(
        "/login",
        content=b"email=" + b"a" * (MiB + 1),
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


# NUL ----------------------------------------------------------------------------------------


def test_nul_in_the_address_or_the_query_is_refused(small: TestClient) -> None:
    problem(small.get("/api/v1/products?site=T%00ST"), 422, "nul")
    problem(small.get("/api/v1/products/dri%00ve"), 422, "nul")
    problem(small.post("/api/v1/bookings?x=%00", json=BOOKING), 422, "nul")


@pytest.mark.parametrize(
    "name",
    [
        "Ann\u0000Lee",  # json.dumps writes the escape \u0000
        "Ann\\\u0000Lee",  # an escaped backslash, then the escape
    ],
)
def test_nul_in_a_json_body_is_refused_on_every_database(
    client: TestClient, session: Session, name: str
) -> None:
    make_world(session)
    session.commit()
    body = BOOKING | {"guest": {"name": name, "email": "ann@example.com"}}
    problem(client.post("/api/v1/bookings", json=body), 422, "nul")
    sign_in(client, session, "operations")
    problem(client.post("/api/v1/people", json={"name": name, "email": "n@example.com"}), 422)
    assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_a_backslash_then_u0000_is_text_not_a_nul(small: TestClient) -> None:
    """In JSON, `\\\\u0000` is an escaped backslash followed by 'u0000': text, not a NUL."""
    notes = r"C:\\u0000 and \\\\u0000"  # two and four backslashes before u0000
    raw = json.dumps(BOOKING)[:-1] + f', "notes": "{notes}"}}'
    assert json.loads(raw)["notes"] == r"C:\u0000 and \\u0000"
    response = small.post(
        "/api/v1/bookings", content=raw, headers={"content-type": "application/json"}
    )
    assert "NUL" not in response.text, response.text  # (no world: the product is unknown)


def test_a_json_nul_escape_split_across_chunks_is_found(sqlite_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url, environment="test"), sweeper=False)
    raw = json.dumps(BOOKING | {"notes": "a" * 100 + "\u0000"}).encode()
    split = raw.index(b"\\u0000") + 3
    status, _, body, _ = _asgi_post(
        app,
        "/api/v1/bookings",
        iter([raw[:split], raw[split:]]),
        {"host": "testserver", "content-type": "application/json", "transfer-encoding": "chunked"},
    )
    assert status == 422 and json.loads(body)["type"].endswith("/nul")


def test_nul_in_a_form_or_a_csv_is_refused(small: TestClient) -> None:
    response = small.post(
        "/login",
        content=b"email=a%00b&password=x",
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert response.status_code == 422 and "NUL" in response.text
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        sign_in(small, session, "operations")
    # A CSV upload: its reader refuses the NUL itself, naming the line.
    refused = problem(
        small.post(
            "/api/v1/sales/import",
            content=b"email\x00,name\n",
            headers={"content-type": "text/csv"},
        ),
        422,
    )
    assert "NUL" in refused["detail"] and "line 1" in refused["detail"]


# Media types --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_endpoint_refuses_a_body_of_another_type(
    small: TestClient, kind: str | None
) -> None:
    headers = {"content-type": kind} if kind else {}
    raw = json.dumps(BOOKING)
    if kind is None:  # httpx would add one
        small.headers.pop("content-type", None)
    answer = problem(small.post("/api/v1/bookings", content=raw, headers=headers), 415)
    assert "application/json" in answer["detail"]
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        sign_in(small, session, "operations")
    problem(small.post("/api/v1/blocks", content=b"{}", headers=headers), 415)
    problem(small.post("/api/v1/auth/login", content=b"{}", headers=headers), 415)


def test_json_with_parameters_or_a_json_suffix_is_json(small: TestClient) -> None:
    raw = json.dumps(BOOKING)
    for kind in ("application/json; charset=utf-8", "application/vnd.paddock+json"):
        response = small.post("/api/v1/bookings", content=raw, headers={"content-type": kind})
        assert response.status_code != 415, response.text


def test_an_import_takes_csv_only(small: TestClient) -> None:
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        sign_in(small, session, "operations")
    csv = b"email,name,model,sold_on,deal_ref\n"
    for kind in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
        answer = problem(
            small.post("/api/v1/sales/import", content=csv, headers={"content-type": kind}), 415
        )
        assert "text/csv" in answer["detail"]
    ok = small.post("/api/v1/sales/import", content=csv, headers={"content-type": "text/csv"})
    assert ok.status_code != 415


# Cross-site writes --------------------------------------------------------------------------

BLOCK = {"site": "TST", "starts_at": "2031-06-02T10:00:00Z", "ends_at": "2031-06-02T12:00:00Z"}


@pytest.fixture
def ops(small: TestClient) -> TestClient:
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        make_world(session)
        session.commit()
        sign_in(small, session, "operations")
    return small


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"referer": "https://evil.example/page"},
    ],
)
def test_a_cookie_write_from_another_site_is_refused(
    ops: TestClient, headers: dict[str, str]
) -> None:
    body = BLOCK | {"reason": "cross-site"}
    answer = problem(ops.post("/api/v1/blocks", json=body, headers=headers), 403, "cross-site")
    assert "another site" in answer["detail"]
    problem(ops.delete("/api/v1/blocks/1", headers=headers), 403, "cross-site")
    assert ops.get("/api/v1/blocks", headers=headers).status_code == 200  # reads are not writes


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a script: neither header
        {"origin": "http://testserver"},
        {"origin": "http://TestServer:80"},
        {"referer": "http://testserver/ops"},
    ],
)
def test_a_cookie_write_from_this_site_passes(ops: TestClient, headers: dict[str, str]) -> None:
    body = BLOCK | {"reason": "same site"}
    assert ops.post("/api/v1/blocks", json=body, headers=headers).status_code == 201


def test_writes_without_the_cookie_are_not_checked(small: TestClient) -> None:
    evil = {"origin": "https://evil.example"}
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        make_world(session)
        dealer = make_dealer(session)
        token = accounts.create_token(session, dealer_id=dealer.id, name="dms", actor="test")
        session.commit()
    # A guest's booking and a dealer system's token are not cookie-authenticated.
    assert small.post("/api/v1/bookings", json=BOOKING, headers=evil).status_code == 201
    bearer = {"authorization": f"Bearer {token.secret}"} | evil
    response = small.post(
        "/api/v1/people", json={"name": "Bo", "email": "b@x.example"}, headers=bearer
    )
    assert response.status_code != 403, response.text


def test_a_json_body_that_is_not_utf8_is_invalid_json(small: TestClient) -> None:
    with small.app.state.session_factory() as session:  # type: ignore[attr-defined]
        sign_in(small, session, "operations")
    headers = {"content-type": "application/json"}
    answer = problem(small.post("/api/v1/blocks", content=b"\xe71T\xc5\xa5", headers=headers), 422)
    assert "not UTF-8" in answer["detail"]
    answer = problem(small.post("/api/v1/bookings", content=b"\xc1\xba", headers=headers), 422)
    assert "JSON" in answer["detail"]
