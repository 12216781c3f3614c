"""Page render time on the demo world: server time per request (routing, queries, templates),
measured in-process with the ASGI test client so no network is in the number.

    python bench/bench_web.py [--quick]

Targets: the operations timeline and (when it exists) the management dashboard at p50 < 150 ms.
Also reports the guest calendar and the static bundles' sizes as served (brotli, gzip).
Writes bench/results/web.json (same shape as the other bench results).
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from paddock.accounts import service as accounts  # noqa: E402
from paddock.app import create_app  # noqa: E402
from paddock.db import make_engine, make_session_factory  # noqa: E402
from paddock.demo import loader  # noqa: E402
from paddock.migrate import upgrade  # noqa: E402
from paddock.rollup import service as rollup  # noqa: E402
from paddock.settings import Settings  # noqa: E402
from paddock.web.assets import registry  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_MS = 150.0
PASSWORD = "bench-web-password-1"
# Where the management dashboard may live once it is built (the first that answers is timed).
DASHBOARD_PATHS = ("/dashboard", "/management", "/manage")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def time_page(client: TestClient, path: str, samples: int) -> dict[str, Any]:
    for _ in range(3):  # warm caches, templates, the connection pool
        client.get(path)
    times: list[float] = []
    status = 0
    size = 0
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
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
    }


def sign_in(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login",
        data={"email": "bench-ops@example.com", "password": PASSWORD, "csrf_token": token[1]},
    )
    assert response.status_code == 303, response.text


def asset_sizes() -> list[dict[str, Any]]:
    rows = []
    for name in ("app.css", "app.js", "vendor/htmx.min.js", "vendor/plotly.min.js"):
        asset = registry.get(name)
        if asset is None:
            continue
        rows.append(
            {
                "asset": name,
                "url": registry.url(name),
                "raw_kb": round(len(asset.content) / 1024, 1),
                "gzip_kb": round(len(asset.encoded("gzip")) / 1024, 1),
                "br_kb": round(len(asset.encoded("br")) / 1024, 1),
            }
        )
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    samples = 20 if quick else 100
    days_back = 14 if quick else 60
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url, pool_size=2)
        started = time.perf_counter()
        with make_session_factory(engine)() as session:
            counts = loader.load(session, days_back=days_back, days_ahead=30)
            # The running app's background pass folds the KPI deltas within ten seconds.
            rollup.compact(session)
            accounts.create_user(
                session, email="bench-ops@example.com", role="operations", password=PASSWORD
            )
        engine.dispose()
        load_seconds = time.perf_counter() - started
        settings = Settings(database_url=url, environment="test", secret_key="bench-" + "x" * 32)
        with TestClient(create_app(settings, sweeper=False), follow_redirects=False) as client:
            client.headers["accept"] = "text/html"
            pages = {
                "guest home": time_page(client, "/", samples),
                "guest calendar (month)": time_page(client, "/book/atl-911-carrera-s", samples),
            }
            sign_in(client)
            pages["ops timeline ATL"] = time_page(client, "/ops?site=ATL", samples)
            pages["ops timeline LA"] = time_page(client, "/ops?site=LA", samples)
            pages["ops check-in (today's arrivals)"] = time_page(client, "/ops/bookings", samples)
            pages["ops fleet"] = time_page(client, "/ops/fleet?site=ATL", samples)
            dashboard = None
            for path in DASHBOARD_PATHS:
                if client.get(path).status_code == 200:
                    dashboard = time_page(client, path, samples)
                    pages["management dashboard"] = dashboard
                    break
    for name, row in pages.items():
        assert row["status"] == 200, f"{name}: HTTP {row['status']}"
    timeline = pages["ops timeline ATL"]["p50_ms"]
    targets = [
        {
            "what": "ops timeline (ATL, demo world) p50 server time",
            "value": timeline,
            "unit": "ms",
            "target": f"< {TARGET_MS:g} ms",
            "met": timeline < TARGET_MS,
        },
        {
            "what": "management dashboard p50 server time",
            "value": dashboard["p50_ms"] if dashboard else None,
            "unit": "ms",
            "target": f"< {TARGET_MS:g} ms",
            "met": (dashboard["p50_ms"] < TARGET_MS) if dashboard else None,
        },
    ]
    result = {
        "name": "web",
        "mode": "quick" if quick else "full",
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "database": "sqlite",
        "demo": {**counts, "days_back": days_back, "load_seconds": round(load_seconds, 1)},
        "targets": targets,
        "pages": pages,
        "assets": asset_sizes(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "web.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"web pages on the demo world ({counts['bookings']} bookings, {samples} samples each):")
    for name, row in pages.items():
        print(f"  {name:<34} p50 {row['p50_ms']:>7.1f} ms   p95 {row['p95_ms']:>7.1f} ms")
    for t in targets:
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        shown = "-" if t["value"] is None else f"{t['value']:g}"
        print(f"  {t['what']:<52} {shown:>8} {t['unit']}  target {t['target']}  {mark}")
    for a in result["assets"]:
        sizes = f"{a['raw_kb']:>8} kB raw {a['gzip_kb']:>8} gzip {a['br_kb']:>8} br"
        print(f"  {a['asset']:<22} {sizes}")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
