"""Booking throughput through the HTTP API: `paddock serve --workers N` against a fresh SQLite
file and a scratch PostgreSQL database, driven by concurrent keep-alive clients.

Two scenarios per database:
- throughput: each client posts real bookings (a product taking a classroom seat, a car, a
  coach and a circuit position) spread over many slots, each with its own Idempotency-Key;
  all of them fit, so every answer should be 201.
- contention: every client fights for the same few slots of a small fleet; exactly the
  capacity is confirmed, the rest must be "sold out" (409), never an error.
After each run the database is checked: no unit holds two overlapping active allocations
(oversold = 0), every 201 is one confirmed booking with one allocation per demand.

    python bench/bench_bookings.py [--quick|--full] [--db sqlite|postgres|both]
                                   [--workers N] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common import (  # noqa: E402
    Connection,
    CpuSplit,
    HttpError,
    Server,
    ms,
    parse_mode,
    percentile,
    postgres_backend_pids,
    postgres_checkpoint,
    postgres_reachable,
    print_targets,
    run_async,
    scratch_postgres,
    scratch_sqlite,
    target,
    write_result,
)
from paddock.bookings.models import Booking  # noqa: E402
from paddock.capacity import engine as capacity_engine  # noqa: E402
from paddock.capacity.models import Pool, Site, SiteHours, Unit  # noqa: E402
from paddock.catalog.models import Product, ProductDemand  # noqa: E402
from paddock.db import make_engine, make_session_factory  # noqa: E402
from paddock.migrate import upgrade  # noqa: E402

# One client address books 1,000+ a minute here: the per-address limit (60 a minute by
# default) would refuse nearly all of it. Set far above the rate, the guard still counts every
# booking and merges once a second, so its cost stays in the measurement (bench/README.md).
GUARD_NEVER_REFUSES = {"PADDOCK_BOOKINGS_PER_ADDRESS_PER_MINUTE": "1000000"}

ZONE = "America/New_York"
OPENS, CLOSES = dtime(6, 0), dtime(21, 0)
# The booked product: classroom brief, then a car with a coach, a lap of the handling circuit.
DRIVE_DEMANDS = (("classroom", 0, 15), ("car", 15, 75), ("coach", 0, 90), ("handling", 15, 40))
TIGHT_DEMANDS = (("tight-car", 0, 60), ("tight-coach", 0, 60))

MODES = {
    # bookings, time limit (s), contention requests, contention slots
    # bookings and time limit are per round; the rate reported is the rounds' median (this
    # machine's speed drifts by tens of per cent from one minute to the next).
    "quick": {"bookings": 6000, "seconds": 15.0, "rounds": 3, "fight": 640, "fight_slots": 4},
    "full": {"bookings": 30000, "seconds": 60.0, "rounds": 5, "fight": 3200, "fight_slots": 8},
}


# ---------------------------------------------------------------- the world


@dataclass
class BenchWorld:
    drive_capacity: int
    tight_capacity: int
    first_day: date
    pool_units: dict[str, int] = field(default_factory=dict)


def build_world(url: str, *, units: int, tight_units: int) -> BenchWorld:
    """One site open every day 06:00-21:00 local; four big pools and a small two-pool fleet."""
    upgrade(url)
    eng = make_engine(url, pool_size=1)
    with make_session_factory(eng)() as session:
        site = Site(code="BEN", name="Bench centre", city="Benchville", time_zone=ZONE)
        site.hours = [SiteHours(weekday=d, opens_at=OPENS, closes_at=CLOSES) for d in range(7)]
        session.add(site)
        session.flush()
        sizes = {"classroom": units, "car": units, "coach": units, "handling": units}
        sizes |= {"tight-car": tight_units, "tight-coach": tight_units}
        pools: dict[str, Pool] = {}
        for code, count in sizes.items():
            pool = Pool(site_id=site.id, code=code, kind=code, name=code.replace("-", " ").title())
            session.add(pool)
            pools[code] = pool
            for n in range(count):
                unit = Unit(site_id=site.id, label=f"{code} {n + 1:03d}", kind=code)
                unit.pools = [pool]
                session.add(unit)
        for code, demands in (("bench-drive", DRIVE_DEMANDS), ("bench-tight", TIGHT_DEMANDS)):
            minutes = max(o + d for _, o, d in demands)
            product = Product(
                site_id=site.id,
                code=code,
                name=code,
                duration_minutes=minutes,
                slot_step_minutes=minutes,
                price_cents=60000,
            )
            product.demands = [
                ProductDemand(pool=pools[p], quantity=1, offset_minutes=o, duration_minutes=d)
                for p, o, d in demands
            ]
            session.add(product)
        session.commit()
    eng.dispose()
    today = datetime.now(ZoneInfo(ZONE)).date()
    return BenchWorld(units, tight_units, today + timedelta(days=2), sizes)


def slot_starts(first_day: date, days: int, minutes: int) -> list[datetime]:
    weekly = {d: [(OPENS, CLOSES)] for d in range(7)}
    step = timedelta(minutes=minutes)
    return capacity_engine.slot_grid(
        first_day, first_day + timedelta(days=days - 1), weekly, ZoneInfo(ZONE), step, step
    )


# ---------------------------------------------------------------- the load


@dataclass
class Job:
    body: bytes
    key: str


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    refs: dict[str, str] = field(default_factory=dict)  # idempotency key -> ref
    # What each error answer said (its problem's detail), to tell "busy" causes apart.
    problems: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    sent: int = 0


def make_jobs(product: str, starts: list[datetime], repeat: int, run: str) -> list[Job]:
    jobs = []
    for n, start in enumerate(s for s in starts for _ in range(repeat)):
        body = {
            "product": product,
            "starts_at": start.isoformat(),
            "guest": {"name": f"Guest {n}", "email": f"guest{n}@example.com"},
        }
        jobs.append(Job(json.dumps(body).encode(), f"{run}-{n}"))
    return jobs


def classify(status: int, payload: bytes) -> str:
    if status in (200, 201):
        return str(status)
    try:
        kind = json.loads(payload).get("type", "").rsplit("/", 1)[-1]
    except ValueError:
        kind = "?"
    return f"{status} {kind}"


def problem_detail(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("detail", ""))[:200]
    except ValueError:
        return payload[:200].decode("utf-8", "replace")


async def drive(port: int, jobs: list[Job], clients: int, seconds: float) -> Outcome:
    """`clients` connections take jobs from one shared list until it is empty or time is up."""
    outcome = Outcome()
    feed = iter(jobs)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        conn = Connection(port)
        await conn.open()
        try:
            for job in feed:
                if time.perf_counter() > deadline:
                    break
                outcome.sent += 1
                t0 = time.perf_counter()
                try:
                    status, payload = await conn.request(
                        "POST", "/api/v1/bookings", job.body, {"Idempotency-Key": job.key}
                    )
                except HttpError:
                    outcome.statuses["connection error"] += 1
                    continue
                outcome.latencies.append(time.perf_counter() - t0)
                kind = classify(status, payload)
                outcome.statuses[kind] += 1
                if status >= 500 or status not in (200, 201, 409):
                    outcome.problems[problem_detail(payload)] += 1
                if status in (200, 201):
                    outcome.refs[job.key] = json.loads(payload)["ref"]
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    outcome.seconds = time.perf_counter() - started
    return outcome


class RssSampler(threading.Thread):
    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            self.server.sample_rss()


# ---------------------------------------------------------------- checks in SQL


OVERSOLD_SQL = """
SELECT count(*) FROM allocation a JOIN allocation b
  ON a.unit_id = b.unit_id AND a.id < b.id
 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
WHERE a.active AND b.active
"""


def database_checks(url: str, product: str, demands: int) -> dict[str, int]:
    eng = make_engine(url, pool_size=1)
    with Session(eng) as session:
        oversold = session.execute(text(OVERSOLD_SQL)).scalar_one()
        product_id = session.scalar(select(Product.id).where(Product.code == product))
        confirmed = session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.product_id == product_id, Booking.status == "confirmed")
        )
        wrong = session.execute(
            text(
                "SELECT count(*) FROM booking b WHERE b.product_id = :p AND b.status = 'confirmed'"
                " AND (SELECT count(*) FROM allocation a WHERE a.engagement_kind = 'booking'"
                " AND a.engagement_id = b.id AND a.active) <> :n"
            ),
            {"p": product_id, "n": demands},
        ).scalar_one()
    eng.dispose()
    return {
        "oversold_pairs": int(oversold),
        "confirmed_in_db": int(confirmed or 0),
        "bookings_with_wrong_allocations": int(wrong),
    }


# ---------------------------------------------------------------- scenarios


def summarise(outcome: Outcome) -> dict[str, Any]:
    ok = outcome.statuses.get("201", 0)
    errors = {
        k: v
        for k, v in outcome.statuses.items()
        if k not in ("200", "201") and not k.endswith("sold-out")
    }
    return {
        "requests": sum(outcome.statuses.values()),
        "seconds": round(outcome.seconds, 3),
        "requests_per_s": round(sum(outcome.statuses.values()) / outcome.seconds, 1),
        "confirmed": ok,
        "confirmed_per_s": round(ok / outcome.seconds, 1),
        "p50_ms": ms(percentile(outcome.latencies, 50)),
        "p90_ms": ms(percentile(outcome.latencies, 90)),
        "p99_ms": ms(percentile(outcome.latencies, 99)),
        "max_ms": ms(max(outcome.latencies, default=None)),
        "statuses": dict(outcome.statuses),
        "errors": sum(errors.values()),
        "problems": dict(outcome.problems.most_common(5)),
    }


def merged(outcomes: list[Outcome]) -> Outcome:
    """The rounds as one run: every latency, status and booking (for the checks)."""
    total = Outcome()
    for o in outcomes:
        total.latencies += o.latencies
        total.statuses.update(o.statuses)
        total.problems.update(o.problems)
        total.refs.update(o.refs)
        total.seconds += o.seconds
        total.sent += o.sent
    return total


def median_round(outcomes: list[Outcome]) -> dict[str, Any]:
    """Confirmed bookings/s as the median of the rounds (each round's rate listed too); the
    latency percentiles stay those of every request of every round."""
    rates = [round(o.statuses.get("201", 0) / o.seconds, 1) for o in outcomes]
    return {"confirmed_per_s": sorted(rates)[len(rates) // 2], "rounds_confirmed_per_s": rates}


def cpu_per_request(cpu: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request by process group: steadier than throughput on a machine
    that other work shares."""
    machine_ms = cpu["wall_s"] * cpu["cores"] * 1000 / max(requests, 1)
    out = {
        f"{group}_ms_per_request": round(cpu[f"{group}_pct_of_machine"] / 100 * machine_ms, 3)
        for group in ("client", "server", "database")
        if f"{group}_pct_of_machine" in cpu
    }
    return out


def replay_check(port: int, jobs: list[Job], refs: dict[str, str]) -> dict[str, int]:
    """Retried requests (same key, same body) return the first booking, never a second one."""

    async def run() -> dict[str, int]:
        conn = Connection(port)
        same = other = 0
        for job in [j for j in jobs if j.key in refs][:50]:
            status, payload = await conn.request(
                "POST", "/api/v1/bookings", job.body, {"Idempotency-Key": job.key}
            )
            if status == 200 and json.loads(payload)["ref"] == refs[job.key]:
                same += 1
            else:
                other += 1
        await conn.close()
        return {"replayed_same_booking": same, "replay_failures": other}

    result: dict[str, int] = run_async(run())
    return result


def run_database(
    db: str, url: str, args: argparse.Namespace, mode: dict[str, Any]
) -> dict[str, Any]:
    print(f"[{db}] building the bench world…", flush=True)
    world = build_world(url, units=args.units, tight_units=args.tight_units)
    drive_minutes = max(o + d for _, o, d in DRIVE_DEMANDS)
    per_day = len(slot_starts(world.first_day, 1, drive_minutes))
    rounds = mode["rounds"]
    wanted = mode["bookings"] * rounds + args.warmup
    days = -(-wanted // (per_day * world.drive_capacity))
    starts = slot_starts(world.first_day, days, drive_minutes)
    jobs = make_jobs("bench-drive", starts, world.drive_capacity, f"{db}-drive")
    random.Random(7).shuffle(jobs)
    warm, timed = jobs[: args.warmup], jobs[args.warmup : wanted]
    tight_minutes = max(o + d for _, o, d in TIGHT_DEMANDS)
    fight_starts = slot_starts(world.first_day, 1, tight_minutes)[: mode["fight_slots"]]
    fight_repeat = -(-mode["fight"] // len(fight_starts))
    fight = make_jobs("bench-tight", fight_starts, fight_repeat, f"{db}-tight")[: mode["fight"]]
    random.Random(8).shuffle(fight)
    fight_capacity = world.tight_capacity * len(fight_starts)

    result: dict[str, Any] = {"database": db, "workers": args.workers, "clients": args.clients}
    result["world"] = {"pools": world.pool_units, "slots": len(starts), "days": days}
    with Server(url, workers=args.workers, extra_env=GUARD_NEVER_REFUSES) as server:
        sampler = RssSampler(server)
        sampler.start()
        print(f"[{db}] {args.workers} worker(s) on :{server.port}; warm-up…", flush=True)
        warm_out = run_async(drive(server.port, warm, args.clients, 30))
        if db == "postgres":
            result["checkpoint_before_run"] = postgres_checkpoint()
        db_pids = postgres_backend_pids(url) if db == "postgres" else []
        split = CpuSplit(server.pids(), db_pids)
        split.start()
        each = [
            run_async(drive(server.port, part, args.clients, mode["seconds"]))
            for part in (timed[k::rounds] for k in range(rounds))
        ]
        result["cpu"] = split.stop()
        out = merged(each)
        result["throughput"] = summarise(out) | median_round(each)
        result["cpu"] |= cpu_per_request(result["cpu"], result["throughput"]["requests"])
        result["throughput"]["warmup_confirmed"] = warm_out.statuses.get("201", 0)
        result["throughput"]["warmup_errors"] = summarise(warm_out)["errors"]
        result["throughput"] |= replay_check(server.port, timed, out.refs)
        print(f"[{db}] contention: {len(fight)} requests for {fight_capacity} places…", flush=True)
        fight_out = run_async(drive(server.port, fight, args.clients, mode["seconds"]))
        sampler.halt.set()
        server.sample_rss()
        result["contention"] = summarise(fight_out) | {"capacity": fight_capacity}
        result["server_rss_mb"] = {
            "peak_per_worker": sorted(server.peak_rss_mb.values()),
            "max": max(server.peak_rss_mb.values(), default=None),
        }
    checks = database_checks(url, "bench-drive", len(DRIVE_DEMANDS))
    tight = database_checks(url, "bench-tight", len(TIGHT_DEMANDS))
    expected = warm_out.statuses.get("201", 0) + result["throughput"]["confirmed"]
    result["checks"] = checks | {
        "expected_confirmed": expected,
        "contention_confirmed_in_db": tight["confirmed_in_db"],
        "contention_wrong_allocations": tight["bookings_with_wrong_allocations"],
    }
    return result


def targets_for(db: str, r: dict[str, Any]) -> list[dict[str, Any]]:
    t, c, checks = r["throughput"], r["contention"], r["checks"]
    oversold = checks["oversold_pairs"]
    rss = r["server_rss_mb"]["max"]
    rows = []
    if db == "postgres":
        rows += [
            target(
                f"postgres: confirmed bookings/s ({r['clients']} clients)",
                t["confirmed_per_s"],
                "/s",
                ">= 800",
                t["confirmed_per_s"] >= 800,
            ),
            target("postgres: p99 latency", t["p99_ms"], "ms", "< 100", (t["p99_ms"] or 1e9) < 100),
        ]
    else:
        rows += [
            target(
                f"sqlite: confirmed bookings/s ({r['clients']} clients)",
                t["confirmed_per_s"],
                "/s",
                ">= 300",
                t["confirmed_per_s"] >= 300,
            ),
            target("sqlite: errors", t["errors"], "", "0", t["errors"] == 0),
        ]
    consistent = (
        checks["confirmed_in_db"] == checks["expected_confirmed"]
        and checks["bookings_with_wrong_allocations"] == 0
        and t["replay_failures"] == 0
    )
    rows += [
        target(
            f"{db}: oversold (overlapping active allocations)", oversold, "", "0", oversold == 0
        ),
        target(
            f"{db}: 201s = confirmed rows, replays idempotent", int(consistent), "", "1", consistent
        ),
        target(
            f"{db}: contention confirmed = capacity, 0 errors",
            c["confirmed"],
            "",
            f"= {c['capacity']}",
            c["confirmed"] == c["capacity"]
            and c["errors"] == 0
            and checks["contention_confirmed_in_db"] == c["capacity"],
        ),
        target(
            f"{db}: server RSS per process (peak)",
            rss,
            "MB",
            "< 250",
            rss is not None and rss < 250,
        ),
    ]
    return rows


def main() -> int:
    mode_name, rest = parse_mode()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--units", type=int, default=40, help="units in each big pool")
    parser.add_argument("--tight-units", type=int, default=4, help="units in the small fleet")
    parser.add_argument("--warmup", type=int, default=400, help="untimed bookings first")
    parser.add_argument("--name", default="bench_bookings", help="result file name")
    args = parser.parse_args(rest)
    mode = MODES[mode_name]
    results: dict[str, Any] = {"mode": mode_name, "databases": {}, "notes": []}
    targets: list[dict[str, Any]] = []
    if args.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            r = run_database("sqlite", url, args, mode)
        results["databases"]["sqlite"] = r
        targets += targets_for("sqlite", r)
    if args.db in ("postgres", "both"):
        if postgres_reachable():
            with scratch_postgres() as url:
                r = run_database("postgres", url, args, mode)
            results["databases"]["postgres"] = r
            targets += targets_for("postgres", r)
        else:
            note = "PostgreSQL not reachable: postgres scenario skipped"
            results["notes"].append(note)
            print(note)
    results["targets"] = targets
    path = write_result(args.name, results)
    for db, r in results["databases"].items():
        t, c = r["throughput"], r["contention"]
        print(
            f"{db}: {t['confirmed_per_s']}/s confirmed (median of {t['rounds_confirmed_per_s']}),"
            f" p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms,"
            f" statuses {t['statuses']}; contention {c['requests_per_s']} decisions/s,"
            f" {c['statuses']}; cpu {r['cpu']}; rss {r['server_rss_mb']}"
        )
    print_targets(targets)
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
