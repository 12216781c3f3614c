"""Benchmark of the motorsport decision engine (`python bench/bench_motorsport.py [--quick]`).

Two full seasons (2024 and 2025) of FIA WEC and IMSA GTP with the demo support organisation:
- `evaluate`: one request over both seasons, median and p99 over repeated runs (target < 50 ms);
- `decide`: 30 random requests over both series, time to a proven optimum on 2 workers
  (target < 2 s), with the greedy comparison;
- `evaluate_from_db`: `service.evaluate_request` end to end on the demo database (load the
  season, the capacity pools by day from the shared core, evaluate, build the answer), on
  SQLite and, when reachable, PostgreSQL (target < 50 ms).
Writes bench/results/motorsport.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg

from paddock.db import make_engine, make_session_factory
from paddock.demo.motorsport import load_motorsport
from paddock.migrate import upgrade
from paddock.motorsport import service
from paddock.motorsport.engine.calendars import (
    ALL_EVENTS,
    ENTRIES_2024,
    EUROPE,
    IMSA,
    NORTH_AMERICA,
    WEC,
    TeamEntry,
)
from paddock.motorsport.engine.solver import (
    DEFAULT_STANDARD,
    GridPolicy,
    RequestKind,
    ResourcePool,
    SupportRequest,
    ValueWeights,
    decide,
    evaluate,
)
from paddock.motorsport.engine.standard import demo_resource_pools

RESULTS_PATH = Path(__file__).parent / "results" / "motorsport.json"
POSTGRES_ADMIN_URL = os.environ.get(
    "PADDOCK_BENCH_POSTGRES_URL",
    os.environ.get("PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
EVALUATE_RUNS = 300
DECIDE_INSTANCES = 5
DB_RUNS = 60
REQUESTS_PER_INSTANCE = 30
TEAMS = ("jota", "proton", "jdc-miller", "united", "ao", "iron", "akkodis", "wayne", "tower")


def commitments() -> list[TeamEntry]:
    # The 2024 entries, renewed for 2025.
    return [*ENTRIES_2024, *(replace(e, season=2025) for e in ENTRIES_2024)]


def bench_pools() -> list[ResourcePool]:
    # A larger organisation than the demo, so that about half of 30 requests can fit.
    scale = {
        "eng-eu": 6,
        "eng-na": 5,
        "data": 10,
        "parts": 7,
        "truck-eu": 4,
        "truck-na": 4,
        "kit": 7,
        "rebuild": 40,
        "spares-eu": 24,
        "spares-na": 20,
    }
    return [replace(p, units=scale.get(p.code, p.units)) for p in demo_resource_pools()]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_evaluate() -> dict[str, object]:
    pools = list(demo_resource_pools())
    committed = commitments()
    request = SupportRequest(
        "proton-2nd-wec-2025", "proton", RequestKind.ADDITIONAL_CAR, WEC, 2025, EUROPE
    )
    policy = GridPolicy(max_cars_by_series={WEC: 4})
    timings = []
    result = None
    for _ in range(EVALUATE_RUNS):
        start = time.perf_counter()
        result = evaluate(request, committed, pools, DEFAULT_STANDARD, policy, ALL_EVENTS)
        timings.append((time.perf_counter() - start) * 1000)
    assert result is not None
    return {
        "runs": EVALUATE_RUNS,
        "events_in_calendar": len(ALL_EVENTS),
        "committed_entries": len(committed),
        "rows": len(result.rows),
        "accepted": result.accepted,
        "median_ms": round(statistics.median(timings), 3),
        "p99_ms": round(percentile(timings, 0.99), 3),
        "max_ms": round(max(timings), 3),
        "target_ms": 50,
    }


def random_requests(rng: random.Random) -> list[SupportRequest]:
    requests = []
    for number in range(REQUESTS_PER_INSTANCE):
        championship = rng.choice((WEC, IMSA))
        kind = rng.choice((RequestKind.NEW_TEAM, RequestKind.ADDITIONAL_CAR, RequestKind.SPARE_CAR))
        region = EUROPE if championship == WEC or rng.random() < 0.3 else NORTH_AMERICA
        requests.append(
            SupportRequest(
                f"r{number:02d}",
                rng.choice(TEAMS),
                kind,
                championship,
                rng.choice((2024, 2025)),
                region,
            )
        )
    return requests


def bench_decide() -> dict[str, object]:
    pools = bench_pools()
    committed = commitments()
    policy = GridPolicy(default_max_cars=8)
    runs: list[dict[str, object]] = []
    totals: list[float] = []
    for seed in range(DECIDE_INSTANCES):
        rng = random.Random(seed)
        requests = random_requests(rng)
        weights = ValueWeights(
            team_priority={t: rng.randint(1, 5) for t in TEAMS}, strategic_weight={WEC: 3, IMSA: 2}
        )
        start = time.perf_counter()
        decision = decide(
            requests,
            committed,
            pools,
            DEFAULT_STANDARD,
            policy,
            weights,
            calendar=ALL_EVENTS,
            time_limit_s=10.0,
            num_workers=2,
            random_seed=seed,
        )
        total_s = time.perf_counter() - start
        totals.append(total_s)
        runs.append(
            {
                "seed": seed,
                "requests": len(requests),
                "status": decision.status,
                "objective": decision.objective_value,
                "best_bound": decision.best_bound,
                "gap": decision.gap,
                "solver_wall_s": round(decision.wall_time_s, 4),
                "decide_total_s": round(total_s, 4),
                "capacity_constraints": decision.capacity_constraints,
                "accepted": len(decision.accepted_codes),
                "greedy_value": decision.greedy.value,
                "greedy_accepted": len(decision.greedy.accepted_codes),
                "gain_over_greedy": decision.comparison.gain,
            }
        )
    return {
        "instances": runs,
        "all_optimal": all(r["status"] == "OPTIMAL" for r in runs),
        "max_decide_total_s": round(max(totals), 4),
        "target_s": 2.0,
        "num_workers": 2,
    }


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_database() -> Iterator[str | None]:
    name = f"paddock_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_evaluate_from_db(url: str, runs: int) -> dict[str, object]:
    """The demo world; each run a fresh session, as a request to the API would have."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        load_motorsport(session)
        session.commit()
    code = "jota-wec-2024-additional-car"
    timings, decide_timings = [], []
    verdict = ""
    for _ in range(runs):
        with factory() as session:
            start = time.perf_counter()
            result = service.evaluate_request(session, code=code)
            timings.append((time.perf_counter() - start) * 1000)
            verdict = result.read.verdict
    for _ in range(max(3, runs // 10)):
        with factory() as session:
            start = time.perf_counter()
            service.decide_season(session, year=2024, num_workers=2, random_seed=0)
            decide_timings.append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return {
        "request": code,
        "verdict": verdict,
        "runs": runs,
        "median_ms": round(statistics.median(timings), 2),
        "p99_ms": round(percentile(timings, 0.99), 2),
        "max_ms": round(max(timings), 2),
        "decide_season_median_ms": round(statistics.median(decide_timings), 2),
        "target_ms": 50,
    }


def target(
    what: str, value: float | None, unit: str, goal: str, met: bool | None
) -> dict[str, object]:
    return {"what": what, "value": value, "unit": unit, "target": goal, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (for make bench)")
    quick = parser.parse_args().quick
    global EVALUATE_RUNS, DECIDE_INSTANCES
    if quick:
        EVALUATE_RUNS, DECIDE_INSTANCES = 50, 2
    db_runs = 15 if quick else DB_RUNS
    pure_evaluate = bench_evaluate()
    pure_decide = bench_decide()
    from_db: dict[str, object] = {}
    with sqlite_database() as url:
        from_db["sqlite"] = bench_evaluate_from_db(url, db_runs)
    with postgres_database() as pg_url:
        from_db["postgresql"] = bench_evaluate_from_db(pg_url, db_runs) if pg_url else None

    def median(backend: str) -> float | None:
        result = from_db.get(backend)
        return float(result["median_ms"]) if isinstance(result, dict) else None  # type: ignore[arg-type]

    targets = [
        target(
            "evaluate one request, two seasons (engine)",
            pure_evaluate["median_ms"],
            "ms",  # type: ignore[arg-type]
            "< 50",
            float(pure_evaluate["median_ms"]) < 50,
        ),  # type: ignore[arg-type]
        target(
            "30 requests proven optimal (2 workers)",
            pure_decide["max_decide_total_s"],
            "s",  # type: ignore[arg-type]
            "< 2",
            bool(pure_decide["all_optimal"]) and float(pure_decide["max_decide_total_s"]) < 2,
        ),  # type: ignore[arg-type]
    ]
    for backend in ("sqlite", "postgresql"):
        value = median(backend)
        targets.append(
            target(
                f"service.evaluate_request from the database ({backend}), median",
                value,
                "ms",
                "< 50",
                None if value is None else value < 50,
            )
        )
    report = {
        "name": "motorsport",
        "mode": "quick" if quick else "full",
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "targets": targets,
        "evaluate": pure_evaluate,
        "decide": pure_decide,
        "evaluate_from_db": from_db,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for item in targets:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[item["met"]]  # type: ignore[index]
        print(f"{item['what']}: {item['value']} {item['unit']} (target {item['target']}) {verdict}")


if __name__ == "__main__":
    main()
