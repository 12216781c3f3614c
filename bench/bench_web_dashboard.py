"""Server time of the reporting pages on the demo world: the management dashboard, the
motorsport planner (season with its load heat map, an evaluation, the set decision) and the
dealer portal's overview, measured in-process with the ASGI test client (no network in the
number), signed in with the demo accounts.

    python bench/bench_web_dashboard.py [--quick|--full]

The KPI rollup is compacted after the load, as the running app's background pass does within
ten seconds. SQLite always; PostgreSQL too when it is reachable (PADDOCK_BENCH_POSTGRES_URL).
Targets: dashboard and motorsport planner p50 < 150 ms. Writes bench/results/web_dashboard.json.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    parse_mode,
    percentile,
    postgres_reachable,
    print_targets,
    scratch_postgres,
    scratch_sqlite,
    target,
    write_result,
)
from paddock.app import create_app  # noqa: E402
from paddock.db import make_engine, make_session_factory  # noqa: E402
from paddock.demo import loader  # noqa: E402
from paddock.demo.dealers import DEMO_PASSWORD  # noqa: E402
from paddock.migrate import upgrade  # noqa: E402
from paddock.rollup import service as rollup  # noqa: E402
from paddock.settings import Settings  # noqa: E402

TARGET_MS = 150.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# (label, who signs in, path); the motorsport pages are the demo's 2024 season.
PAGES = (
    ("dashboard (all sites)", "admin@paddock.example", "/dashboard"),
    ("dashboard (ATL)", "admin@paddock.example", "/dashboard?site=ATL"),
    ("motorsport season + load heat map", "motorsport@paddock.example", "/motorsport?year=2024"),
    (
        "motorsport evaluation (Jota, 2nd WEC car)",
        "motorsport@paddock.example",
        "/motorsport/requests/jota-wec-2024-additional-car",
    ),
    ("motorsport set decision", "motorsport@paddock.example", "/motorsport/decision?year=2024"),
    ("dealer portal overview", "dealer@d-atl-001.example", "/dealer"),
)
TARGETED = {
    "dashboard (all sites)": "dashboard p50",
    "motorsport season + load heat map": "motorsport season + heat map p50",
    "motorsport evaluation (Jota, 2nd WEC car)": "motorsport evaluation p50",
    "motorsport set decision": "motorsport set decision p50",
}


def sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 303, response.text


def time_page(client: TestClient, path: str, samples: int) -> dict[str, Any]:
    for _ in range(3):  # warm caches, templates, the connection pool
        client.get(path)
    times: list[float] = []
    status = size = 0
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        status, size = response.status_code, len(response.content)
    return {
        "path": path,
        "status": status,
        "bytes": size,
        "samples": samples,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 95) or 0.0, 2),
        "max_ms": round(max(times), 2),
    }


@contextlib.contextmanager
def demo_database(url: str, days_back: int) -> Iterator[dict[str, Any]]:
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        counts = loader.load(session, days_back=days_back, days_ahead=30)
        rollup.compact(session)
    engine.dispose()
    seconds = round(time.perf_counter() - started, 1)
    yield {**counts, "days_back": days_back, "load_seconds": seconds}


def measure(url: str, samples: int) -> dict[str, dict[str, Any]]:
    settings = Settings(database_url=url, environment="test", secret_key="bench-" + "x" * 32)
    pages: dict[str, dict[str, Any]] = {}
    with TestClient(create_app(settings, sweeper=False), follow_redirects=False) as client:
        client.headers["accept"] = "text/html"
        signed_in = ""
        for label, email, path in PAGES:
            if email != signed_in:
                sign_in(client, email)
                signed_in = email
            pages[label] = time_page(client, path, samples)
    for label, row in pages.items():
        assert row["status"] == 200, f"{label}: HTTP {row['status']}"
    return pages


def main(argv: list[str]) -> int:
    mode, _ = parse_mode(argv)
    quick = mode == "quick"
    samples = 20 if quick else 100
    days_back = 14 if quick else 60
    runs: dict[str, dict[str, Any]] = {}
    with scratch_sqlite() as url, demo_database(url, days_back) as counts:
        runs["sqlite"] = {"demo": counts, "pages": measure(url, samples)}
    if postgres_reachable():
        with scratch_postgres() as url, demo_database(url, days_back) as counts:
            runs["postgresql"] = {"demo": counts, "pages": measure(url, samples)}
    targets = []
    for database, run in runs.items():
        for label, what in TARGETED.items():
            p50 = run["pages"][label]["p50_ms"]
            targets.append(
                target(f"{what} ({database})", p50, "ms", f"< {TARGET_MS:g} ms", p50 < TARGET_MS)
            )
    load = os.getloadavg()
    path = write_result(
        "web_dashboard",
        {
            "mode": mode,
            "load_average": [round(x, 2) for x in load],
            "targets": targets,
            "runs": runs,
        },
    )
    for database, run in runs.items():
        demo = run["demo"]
        print(
            f"reporting pages on the demo world, {database} ({demo['bookings']} bookings, "
            f"{samples} samples each; load average {load[0]:.1f}):"
        )
        for label, row in run["pages"].items():
            print(f"  {label:<44} p50 {row['p50_ms']:>7.1f} ms   p95 {row['p95_ms']:>7.1f} ms")
    print_targets(targets)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
