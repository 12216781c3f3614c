"""What the benchmark scripts share: scratch databases, a server under test, a lean HTTP client,
process accounting from /proc, percentiles and the JSON result format.

A result file is `bench/results/<name>.json` with at least:
    {"name": ..., "mode": "quick"|"full", "machine": {...}, "targets": [...], ...}
where each target is {"what", "value", "unit", "target", "met"} (met is true, false or null when
not measured). `bench/run.py` prints the targets of every result it finds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_ADMIN_URL = os.environ.get(
    "PADDOCK_BENCH_POSTGRES_URL",
    os.environ.get("PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# ---------------------------------------------------------------- results


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def target(
    what: str, value: float | None, unit: str, goal: str, met: bool | None
) -> dict[str, Any]:
    return {"what": what, "value": value, "unit": unit, "target": goal, "met": met}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"name": name, "machine": machine(), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    payload.update(data)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def print_targets(targets: Sequence[dict[str, Any]]) -> None:
    for t in targets:
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        value = "-" if t["value"] is None else f"{t['value']:g}"
        print(f"  {t['what']:<58} {value:>10} {t['unit']:<10} target {t['target']:<12} {mark}")


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="paddock-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'paddock.db'}"


def postgres_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def scratch_postgres() -> Iterator[str]:
    """A database made for this run from the admin URL, dropped afterwards."""
    import psycopg

    name = f"paddock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_checkpoint() -> bool:
    """Write out what the set-up dirtied, so that a checkpoint it triggers is not billed to
    the timed run (needs a superuser; False when refused)."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        return True
    except psycopg.Error:
        return False


def postgres_backend_pids(url: str) -> list[int]:
    """Server processes serving the given database (for the CPU split)."""
    import psycopg

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
    return [r[0] for r in rows]


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def process_tree(pid: int) -> list[int]:
    out = [pid]
    for child in children(pid):
        out.extend(process_tree(child))
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 when it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuSplit:
    """Where the CPU went during a run: the load client, the server processes, the rest
    (mostly the database server), out of the machine's cores x wall time."""

    server_pids: list[int]
    extra_pids: list[int] = field(default_factory=list)
    _start: dict[str, Any] = field(default_factory=dict)

    def _sample(self) -> dict[str, Any]:
        busy, total = machine_cpu_seconds()
        return {
            "busy": busy,
            "total": total,
            "client": time.process_time(),
            "server": {p: cpu_seconds(p) for p in self.server_pids},
            "database": {p: cpu_seconds(p) for p in self.extra_pids},
            "wall": time.perf_counter(),
        }

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        d: dict[str, float] = {}
        for key, value in end.items():
            if isinstance(value, dict):
                # Only processes alive at both ends (a database backend may come and go).
                d[key] = sum(
                    value[p] - self._start[key][p]
                    for p in value
                    if p in self._start[key] and value[p] >= self._start[key][p]
                )
            else:
                d[key] = value - self._start[key]
        cores = os.cpu_count() or 1
        capacity = d["wall"] * cores
        split = {
            "wall_s": round(d["wall"], 2),
            "cores": cores,
            "machine_busy_pct": round(100 * d["busy"] / max(d["total"], 1e-9), 1),
            "client_pct_of_machine": round(100 * d["client"] / capacity, 1),
            "server_pct_of_machine": round(100 * d["server"] / capacity, 1),
        }
        if self.extra_pids:
            split["database_pct_of_machine"] = round(100 * d["database"] / capacity, 1)
        split["other_pct_of_machine"] = round(
            100 * (d["busy"] - d["client"] - d["server"] - d["database"]) / capacity, 1
        )
        return split


class Server:
    """`paddock serve` as a subprocess on a free loopback port, stopped on exit."""

    def __init__(self, database_url: str, *, workers: int, extra_env: dict[str, str] | None = None):
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_mb: dict[int, float] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        env = dict(os.environ)
        env.update(self.extra_env)
        env["PADDOCK_DATABASE_URL"] = self.database_url
        env.setdefault("PADDOCK_ENVIRONMENT", "test")
        command = [
            str(Path(sys.executable).parent / "paddock"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"server exited with {self.process.returncode}: {err[-2000:]}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError("server did not become ready in time")

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the master itself when there is one worker)."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        # uvicorn's supervisor may start a resource-tracker helper too; workers import the app.
        return [p for p in children(self.process.pid) if _is_worker(p)]

    def sample_rss(self) -> None:
        for pid in self.worker_pids():
            value = rss_mb(pid)
            if value is not None:
                self.peak_rss_mb[pid] = max(value, self.peak_rss_mb.get(pid, 0.0))

    def __exit__(self, *_: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline


# ---------------------------------------------------------------- a lean HTTP/1.1 client


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams. The load generator shares the
    machine with the server, so it must cost little CPU per request: no client library here,
    just the bytes (responses with Content-Length, as uvicorn sends for JSON)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"connection lost: {exc}") from exc
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"transfer-encoding":
                raise HttpError("chunked responses are not supported by the bench client")
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.new_event_loop()


def run_async(coro: Any) -> Any:
    loop = new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def parse_mode(argv: Sequence[str] | None = None) -> tuple[str, list[str]]:
    args = list(sys.argv[1:] if argv is None else argv)
    mode = "full" if "--full" in args else "quick"
    rest = [a for a in args if a not in ("--quick", "--full")]
    return mode, rest
