"""Benchmark of the motorsport decision engine (standalone: `python bench/bench_motorsport.py`).

Two full seasons (2024 and 2025) of FIA WEC and IMSA GTP with the demo support organisation:
- `evaluate`: one request over both seasons, median and p99 over repeated runs (target < 50 ms);
- `decide`: 30 random requests over both series, time to a proven optimum on 2 workers
  (target < 2 s), with the greedy comparison.
Writes bench/results/motorsport.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from paddock.motorsport.calendars import (
    ALL_EVENTS,
    ENTRIES_2024,
    EUROPE,
    IMSA,
    NORTH_AMERICA,
    WEC,
    TeamEntry,
)
from paddock.motorsport.solver import (
    DEFAULT_STANDARD,
    GridPolicy,
    RequestKind,
    ResourcePool,
    SupportRequest,
    ValueWeights,
    decide,
    evaluate,
)
from paddock.motorsport.standard import demo_resource_pools

RESULTS_PATH = Path(__file__).parent / "results" / "motorsport.json"
EVALUATE_RUNS = 300
DECIDE_INSTANCES = 5
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


def main() -> None:
    report = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "evaluate": bench_evaluate(),
        "decide": bench_decide(),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
