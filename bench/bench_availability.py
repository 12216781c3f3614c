"""Availability of a product over 30 days, on the demo world: the service call and the HTTP
endpoint, p50/p99 over many runs, for several products; on SQLite and (when reachable)
PostgreSQL; on the demo world as loaded and on a denser variant whose next 30 days are
booked much fuller.

    python bench/bench_availability.py [--quick|--full] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common import (  # noqa: E402
    Connection,
    Server,
    ms,
    parse_mode,
    percentile,
    postgres_reachable,
    print_targets,
    rss_mb,
    run_async,
    scratch_postgres,
    scratch_sqlite,
    target,
    write_result,
)
from paddock.bookings.models import Booking, BookingStatus  # noqa: E402
from paddock.capacity import engine  # noqa: E402
from paddock.capacity import service as capacity  # noqa: E402
from paddock.capacity.models import Allocation, Site  # noqa: E402
from paddock.catalog import service as catalog  # noqa: E402
from paddock.catalog.models import Product  # noqa: E402
from paddock.db import make_engine, make_session_factory  # noqa: E402
from paddock.demo import loader  # noqa: E402
from paddock.migrate import upgrade  # noqa: E402

# Six demands on disjoint pools; six demands with one unit in two; few units; another site.
PRODUCTS = ("atl-911-carrera-s", "atl-taycan-vs-911", "atl-simulator-30", "la-taycan")
DAYS = 30
MODES = {"quick": {"runs": 100}, "full": {"runs": 400}}


def load_world(url: str, *, dense: bool) -> dict[str, int]:
    upgrade(url)
    eng = make_engine(url, pool_size=1)
    with make_session_factory(eng)() as session:
        counts = loader.load(session, today=_today())
        if dense:
            counts["extra_bookings"] = densify(session, fill=0.8)
        counts["allocations"] = len(session.scalars(select(Allocation.id)).all())
    eng.dispose()
    catalog.invalidate_cache()
    return counts


def _today() -> date:
    return datetime.now(UTC).date()


def densify(session: Session, *, fill: float) -> int:
    """Book the next 30 days of every site towards `fill` of what its units could take: the
    real allocator on an in-memory copy of the timelines (as the demo loader does)."""
    rng = random.Random(42)
    total = 0
    for site in session.scalars(select(Site)).all():
        clock = capacity.site_clock(session, site.id, site.time_zone)
        plans = [
            catalog.product_plan(session, code=p.code)
            for p in session.scalars(select(Product).where(Product.site_id == site.id))
        ]
        if not plans:
            continue
        first, last = _today() + timedelta(days=1), _today() + timedelta(days=DAYS)
        window = (
            datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(days=1),
            datetime.combine(last, datetime.min.time(), tzinfo=UTC) + timedelta(days=2),
        )
        pools = {d.pool_id for plan in plans for d in plan.demands}
        by_pool, _ = capacity.load_timelines(session, clock, pools, window, window[0])
        bookings: list[dict[str, Any]] = []
        picks_of: list[list[engine.Pick]] = []
        attempts = int(fill * 400) * DAYS
        starts_of = {
            plan.code: engine.slot_grid(
                first, last, clock.opening, clock.zone, plan.step, plan.duration
            )
            for plan in plans
        }
        for _ in range(attempts):
            plan = rng.choice(plans)
            if not starts_of[plan.code]:
                continue
            start = rng.choice(starts_of[plan.code])
            picks, short = engine.choose_units(start, plan.demands, by_pool, rng=rng)
            if short:
                continue
            for pick in picks:
                for unit in by_pool[pick.demand.pool_id]:
                    if unit.unit_id == pick.unit_id:
                        unit.busy.append(engine.span(pick.starts_at, pick.ends_at))
            n = len(bookings)
            bookings.append(
                {
                    "ref": f"X{site.id}{n:06d}",
                    "manage_token": f"bench-{site.id}-{n}",
                    "product_id": plan.product_id,
                    "site_id": site.id,
                    "starts_at": start,
                    "ends_at": start + plan.duration,
                    "status": BookingStatus.CONFIRMED,
                    "guest_name": "Bench Guest",
                    "guest_email": "bench@example.com",
                    "guest_phone": "",
                    "notes": "",
                    "channel": "public",
                    "price_cents": plan.price_cents,
                    "currency": plan.currency,
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                    "cancel_reason": "",
                }
            )
            picks_of.append(picks)
        if bookings:
            ids = session.scalars(insert(Booking).returning(Booking.id), bookings).all()
            rows = [
                {
                    "engagement_kind": "booking",
                    "engagement_id": booking_id,
                    "unit_id": p.unit_id,
                    "pool_id": p.demand.pool_id,
                    "starts_at": p.starts_at,
                    "ends_at": p.ends_at,
                    "active": True,
                    "expires_at": None,
                }
                for booking_id, picks in zip(ids, picks_of, strict=True)
                for p in picks
            ]
            session.execute(insert(Allocation), rows)
            session.commit()
        total += len(bookings)
    catalog.invalidate_cache()
    return total


def service_runs(url: str, product: str, runs: int) -> dict[str, Any]:
    # This process just built the world: set its objects aside so that the garbage collector
    # does not walk them on every run (a server process never holds them).
    gc.collect()
    gc.freeze()
    eng = make_engine(url, pool_size=2)
    factory = make_session_factory(eng)
    first = _today() + timedelta(days=1)
    times: list[float] = []
    slots = free = 0
    with factory() as session:
        for i in range(runs + 5):
            t0 = time.perf_counter()
            result = catalog.availability(
                session,
                product_code=product,
                date_from=first,
                date_to=first + timedelta(days=DAYS - 1),
                now=datetime.now(UTC),
            )
            if i >= 5:  # the first calls fill the per-process caches
                times.append(time.perf_counter() - t0)
        slots = len(result.slots)
        free = sum(1 for s in result.slots if s.remaining)
    eng.dispose()
    return {"slots": slots, "slots_with_room": free, **_stats(times)}


def http_runs(port: int, product: str, runs: int) -> dict[str, Any]:
    first = _today() + timedelta(days=1)
    last = first + timedelta(days=DAYS - 1)
    path = f"/api/v1/products/{product}/availability?from={first}&to={last}"

    async def go() -> tuple[list[float], int, int]:
        conn = Connection(port)
        times: list[float] = []
        size = status = 0
        for i in range(runs + 5):
            t0 = time.perf_counter()
            status, body = await conn.request("GET", path)
            if i >= 5:
                times.append(time.perf_counter() - t0)
            size = len(body)
        await conn.close()
        return times, status, size

    times, status, size = run_async(go())
    return {"status": status, "bytes": size, **_stats(times)}


def _stats(times: list[float]) -> dict[str, Any]:
    return {
        "runs": len(times),
        "p50_ms": ms(percentile(times, 50)),
        "p99_ms": ms(percentile(times, 99)),
        "mean_ms": ms(sum(times) / len(times)) if times else None,
    }


def run_database(db: str, url: str, dense: bool, runs: int) -> dict[str, Any]:
    label = f"{db}{' dense' if dense else ''}"
    print(f"[{label}] loading the demo world…", flush=True)
    counts = load_world(url, dense=dense)
    result: dict[str, Any] = {"world": counts, "service": {}, "http": {}}
    for product in PRODUCTS:
        result["service"][product] = service_runs(url, product, runs)
    with Server(url, workers=1) as server:
        for product in PRODUCTS:
            result["http"][product] = http_runs(server.port, product, runs)
        result["server_rss_mb"] = rss_mb(server.worker_pids()[0])
    for product in PRODUCTS:
        s, h = result["service"][product], result["http"][product]
        print(
            f"[{label}] {product:<20} service p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms;"
            f" http p50 {h['p50_ms']} ms p99 {h['p99_ms']} ms ({s['slots']} slots)"
        )
    return result


def main() -> int:
    mode_name, rest = parse_mode()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(rest)
    runs = MODES[mode_name]["runs"]
    results: dict[str, Any] = {"mode": mode_name, "days": DAYS, "variants": {}, "notes": []}
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and not postgres_reachable():
        dbs.remove("postgres")
        results["notes"].append("PostgreSQL not reachable: postgres runs skipped")
    for db in dbs:
        for dense in (False, True):
            scratch = scratch_sqlite() if db == "sqlite" else scratch_postgres()
            with scratch as url:
                results["variants"][f"{db}{'-dense' if dense else ''}"] = run_database(
                    db, url, dense, runs
                )
    targets = []
    for name, variant in results["variants"].items():
        for level in ("service", "http"):
            worst = max(v["p50_ms"] for v in variant[level].values())
            targets.append(
                target(
                    f"{name}: 30-day availability p50, {level} (worst product)",
                    worst,
                    "ms",
                    "< 20",
                    worst < 20,
                )
            )
    results["targets"] = targets
    path = write_result("bench_availability", results)
    print_targets(targets)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
