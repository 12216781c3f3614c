"""The motorsport API on SQLite and PostgreSQL: reads, evaluation and decisions as data with
plain words, recording (201, then 409 problem+json), standard versions, policy, imports,
results and the service level."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.auth import sign_in
from tests.motorsport.conftest import JDC, JOTA, PROTON

API = "/api/v1/motorsport"


@pytest.fixture(autouse=True)
def _programme_manager(client: TestClient, session: Session) -> None:
    sign_in(client, session, "motorsport")


def test_reads(demo: Session, client: TestClient) -> None:
    championships = client.get(f"{API}/championships").json()
    assert {c["code"]: c["seasons"] for c in championships} == {
        "WEC": [2023, 2024, 2025],
        "IMSA": [2023, 2024, 2025],
    }
    calendar = client.get(f"{API}/calendar", params={"season": 2024, "championship": "WEC"})
    spa = next(e for e in calendar.json() if e["name"] == "Spa")
    assert (
        spa["clashes_with"] == ["IMSA Laguna Seca"] and spa["race_week_start_date"] == "2024-05-07"
    )
    jota = client.get(f"{API}/teams/Jota").json()
    assert jota["code"] == "jota" and [e["car_number"] for e in jota["entries"]] == ["38", "38"]
    assert client.get(f"{API}/entries", params={"season": 2024}).status_code == 200
    assert len(client.get(f"{API}/chassis").json()) == 4
    resources = {r["code"]: r for r in client.get(f"{API}/resources?season=2024").json()}
    assert resources["kit"]["units"] == 4 and len(resources["kit"]["unit_labels"]) == 4
    load = client.get(f"{API}/resources/load", params={"season": 2024}).json()
    data = next(r for r in load["resources"] if r["code"] == "data")
    assert max(w["short"] for w in data["weeks"]) == 1
    assert client.get(f"{API}/standard").json()["version"] == 1
    assert client.get(f"{API}/policy").json()["max_cars_by_series"] == {"WEC": 3}
    requests = client.get(f"{API}/requests", params={"season": 2024, "status": "open"}).json()
    assert [r["code"] for r in requests] == [PROTON, JOTA, JDC]
    missing = client.get(f"{API}/teams/Ferrari")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "No customer team 'Ferrari'" in missing.json()["detail"]


def test_evaluate_and_decide_return_words_and_data(demo: Session, client: TestClient) -> None:
    evaluation = client.post(f"{API}/requests/{JOTA}/evaluate").json()
    assert evaluation["verdict"] == "accept"
    assert evaluation["headline"].startswith("Accepted: Hertz Team Jota additional car, WEC 2024")
    assert evaluation["request"]["team_name"] == "Hertz Team Jota"
    imola = next(r for r in evaluation["rows"] if r["label"] == "Imola")
    assert imola["description"].startswith("Imola (17–21 Apr 2024), data specialists: 4 committed")
    what_if = client.post(
        f"{API}/evaluate",
        json={"team": "united", "championship": "WEC", "season": 2024, "kind": "new_team"},
    )
    assert what_if.status_code == 404  # no such team yet
    team = {"code": "united", "name": "United Autosports", "base_region": "Europe"}
    assert client.post(f"{API}/teams", json=team).status_code == 201
    assert client.post(f"{API}/teams", json=team).status_code == 409
    newcomer = client.post(
        f"{API}/evaluate",
        json={"team": "united", "championship": "WEC", "season": 2024, "kind": "new_team"},
    ).json()
    # A new team needs its own crew, where a second car shares its team's ("reduces
    # complexity"): the parts specialists and the European parts trucks run out.
    assert newcomer["verdict"] == "decline"
    assert {r["pool"] for r in newcomer["shortfalls"]} == {"parts", "truck-eu"}
    assert newcomer["first_binding"]["description"] == (
        "parts specialists short by 1 from 17 Apr 2024"
    )
    assert len(newcomer["what_it_would_take"]) == 5

    decided = client.post(f"{API}/decisions/decide", json={"season": 2024}).json()
    assert decided["accepted"] == [JOTA, JDC] and decided["declined"] == [PROTON]
    assert (decided["objective"], decided["best_bound"], decided["gap"]) == (13, 13.0, 0.0)
    assert decided["greedy"] == {"accepted": [PROTON, JDC], "declined": [JOTA], "value": 11}
    proton = decided["declined_explanations"][0]
    assert proton["first_binding"]["kind"] == "grid_cap"
    assert proton["what_it_would_take"][0]["description"] == (
        "+1 data specialist for 17–19 Apr 2024: Long Beach / Imola weekend"
    )
    assert any("Objective 13" in line for line in decided["summary"])


def test_record_a_decision_then_the_same_is_refused(demo: Session, client: TestClient) -> None:
    body = {"season": 2024, "use_optimum": True}
    recorded = client.post(f"{API}/decisions", json={**body, "rationale": "as in the article"})
    assert recorded.status_code == 201, recorded.text
    decision = recorded.json()
    assert {o["request"]: o["outcome"] for o in decision["requests"]} == {
        JOTA: "accepted",
        JDC: "accepted",
        PROTON: "declined",
    }
    stored = client.get(f"{API}/decisions/{decision['id']}").json()
    assert stored["capacity_snapshot"]["year"] == 2024 and stored["standard_version"] == 1
    listed = client.get(f"{API}/decisions", params={"season": 2024}).json()
    assert [d["id"] for d in listed] == [decision["id"]] and listed[0]["capacity_snapshot"] is None
    again = client.post(f"{API}/decisions", json={"season": 2024, "accept": [JOTA]})
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]

    # An identical second request: the data specialists of the Imola weekend are taken.
    client.put(f"{API}/policy", json={"max_cars_by_series": {"WEC": 10}})
    twin = client.post(
        f"{API}/requests",
        json={"team": "jota", "championship": "WEC", "season": 2024, "kind": "additional_car"},
    )
    assert twin.status_code == 201
    refused = client.post(
        f"{API}/decisions",
        json={"season": 2024, "accept": [twin.json()["code"]]},
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"].endswith("/support-capacity-exceeded")
    assert problem["evaluation"]["what_it_would_take"][0]["pool"] == "data"


def test_standard_policy_and_team_edits(demo: Session, client: TestClient) -> None:
    current = client.get(f"{API}/standard").json()
    lines = [
        {**line, "per_spare_car": 2} if line["kind"] == "rebuild_slot" else line
        for line in current["lines"]
    ]
    created = client.put(f"{API}/standard", json={"lines": lines, "note": "spares rebuilt twice"})
    assert created.status_code == 201 and created.json()["version"] == 2
    versions = client.get(f"{API}/standard/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert client.get(f"{API}/standard", params={"version": 1}).json()["lines"] == current["lines"]
    bad = client.put(
        f"{API}/standard",
        json={"lines": [{"kind": "engineer", "first_car": 1, "per_additional_car": 3}]},
    )
    assert bad.status_code == 422 and "cannot need more" in bad.json()["detail"]
    assert client.put(f"{API}/standard", json={"lines": []}).status_code == 422

    policy = client.put(f"{API}/policy", json={"default_max_cars": 3, "win_bonus": 5}).json()
    assert (policy["default_max_cars"], policy["win_bonus"]) == (3, 5)
    team = client.patch(f"{API}/teams/proton", json={"priority": 4}).json()
    assert team["priority"] == 4
    assert client.patch(f"{API}/teams/proton", json={"priority": -1}).status_code == 422


def test_import_results_deliveries_and_service_level(demo: Session, client: TestClient) -> None:
    csv = (
        "championship,season,round,venue,country,region,start_date,end_date\n"
        "IMSA,2026,Rolex 24 at Daytona,Daytona International Speedway,USA,North America,"
        "2026-01-24,2026-01-25\n"
    )
    imported = client.post(
        f"{API}/seasons/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert imported.status_code == 201 and imported.json()["events"] == 1
    broken = client.post(
        f"{API}/seasons/import?format=csv",
        content=csv.replace("2026-01-24", "someday").replace("IMSA,2026", "IMSA,2027"),
        headers={"content-type": "text/csv"},
    )
    assert broken.status_code == 422
    assert broken.json()["errors"] == ["line 2: start_date 'someday' is not a date (YYYY-MM-DD)"]

    result = client.post(
        f"{API}/results",
        json={
            "championship": "IMSA",
            "season": 2024,
            "car_number": "85",
            "event": "Sebring",
            "position": 4,
        },
    )
    assert result.status_code == 201 and result.json()["event_name"] == "Sebring"
    delivered = client.post(
        f"{API}/deliveries",
        json={
            "championship": "IMSA",
            "season": 2024,
            "car_number": "85",
            "event": "Sebring",
            "items": [
                {"kind": "engineer", "delivered": 1},
                {"kind": "parts_truck", "delivered": 1, "on_time": False, "note": "late"},
            ],
        },
    )
    assert delivered.status_code == 201
    level = client.get(f"{API}/service-level", params={"season": 2024}).json()
    assert (level["fill_rate"], level["on_time_rate"]) == (1.0, 0.5)
    level_2023 = client.get(f"{API}/service-level", params={"season": 2023, "team": "proton"})
    assert level_2023.json()["on_time_rate"] == 1.0
    assert client.get(f"{API}/service-level").status_code == 422  # season is required
