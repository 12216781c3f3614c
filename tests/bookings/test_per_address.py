"""Public bookings per client address (PADDOCK_BOOKINGS_PER_ADDRESS_PER_MINUTE): counted in
memory by each server process, merged through the database, so two processes on one
database share the count after a merge; 429 with Retry-After; 0 turns it off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.app import create_app
from paddock.dealers import service as dealers
from paddock.settings import Settings
from tests.dealers.conftest import STAFF, make_dealer_world
from tests.factories import MONDAY, at, make_world


def body(n: int) -> dict[str, Any]:
    day = MONDAY + timedelta(days=n // 4)
    return {
        "product": "drive",
        "starts_at": at(day, 9 + 2 * (n % 4)).isoformat(),
        "guest": {"name": f"Guest {n}", "email": f"guest{n}@example.com"},
    }


def client_of(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, sweeper=False), client=("203.0.113.9", 1))


def flush(client: TestClient) -> None:
    """What each process's lifespan task does once a second."""
    app: Any = client.app
    app.state.booking_tally.flush(app.state.session_factory)


def test_two_processes_share_the_count_after_a_merge(settings: Settings, session: Session) -> None:
    make_world(session)
    limited = settings.model_copy(update={"bookings_per_address_per_minute": 3})
    with client_of(limited) as one, client_of(limited) as two:
        assert [one.post("/api/v1/bookings", json=body(n)).status_code for n in (0, 1)] == [
            201,
            201,
        ]
        flush(one)
        assert two.post("/api/v1/bookings", json=body(2)).status_code == 201
        flush(two)  # learns one's two bookings with its own
        refused = two.post("/api/v1/bookings", json=body(3))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.headers["retry-after"] == str(refused.json()["retry_after"])
        assert "at most 3 a minute" in refused.json()["detail"]
        flush(one)  # nothing of its own to add: learns the total
        assert one.post("/api/v1/bookings", json=body(4)).status_code == 429
        # Another address is not affected.
        other = TestClient(one.app, client=("198.51.100.1", 1))
        assert other.post("/api/v1/bookings", json=body(5)).status_code == 201


def test_x_forwarded_for_does_not_escape_the_limit(settings: Settings, session: Session) -> None:
    make_world(session)
    limited = settings.model_copy(update={"bookings_per_address_per_minute": 2})
    with client_of(limited) as client:
        statuses = [
            client.post(
                "/api/v1/bookings", json=body(n), headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(3)
        ]
    assert statuses == [201, 201, 429]


def test_booking_with_a_code_counts_too(settings: Settings, session: Session) -> None:
    dw = make_dealer_world(session)
    code = dealers.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="COUNTED-K47", max_uses=None
    ).code
    limited = settings.model_copy(update={"bookings_per_address_per_minute": 2})
    with client_of(limited) as client:
        assert client.post("/api/v1/bookings", json=body(0)).status_code == 201
        assert client.post(f"/api/v1/invitations/{code}/bookings", json=body(1)).status_code == 201
        refused = client.post(f"/api/v1/invitations/{code}/bookings", json=body(2))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_zero_means_no_limit(settings: Settings, session: Session) -> None:
    make_world(session, cars=8, coaches=8)
    unlimited = settings.model_copy(update={"bookings_per_address_per_minute": 0})
    with client_of(unlimited) as client:
        statuses = [client.post("/api/v1/bookings", json=body(n)).status_code for n in range(12)]
        flush(client)
    assert statuses == [201] * 12
