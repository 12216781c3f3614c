"""A property-based fuzz of the whole OpenAPI (schemathesis): every operation is called with
generated requests, valid ones (positive) and ones that break the schema (negative), both
anonymously and with a staff session cookie. Each answer must be below 500, and each error an
RFC 9457 problem (application/problem+json).

tests/test_fuzz.py runs a few hundred cases in the suite; `make fuzz` runs many more:

    python -m tests.fuzzing [--examples 25] [--seed 2015] [--postgres]

prints the operations, requests, statuses and every finding, and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from paddock.app import create_app
from paddock.settings import Settings

PROBLEM = "application/problem+json"
# Operations that would end the fuzzer's own session (it signs in again for each operation,
# but a run of cases inside one operation shares the session).
SESSION_ENDING = frozenset(
    {
        "POST /api/v1/auth/logout",
        "POST /api/v1/auth/password",
        "POST /api/v1/users/{user_id}/deactivate",
    }
)


@dataclass(frozen=True)
class Finding:
    who: str
    operation: str
    status: int
    content_type: str
    request: str
    answer: str

    def __str__(self) -> str:
        return (
            f"{self.who} {self.operation} -> {self.status} {self.content_type}\n"
            f"    request: {self.request}\n    answer: {self.answer}"
        )


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def report(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        lines = [
            f"operations: {len(self.operations)}",
            f"requests: {self.requests}",
            f"5xx: {self.server_errors}",
            f"errors that are not problem+json: {sum(1 for f in self.findings if f.status < 500)}",
            f"statuses: {statuses}",
        ]
        seen: set[tuple[str, str, int]] = set()
        for finding in self.findings:  # one per operation and status
            key = (finding.who, finding.operation, finding.status)
            if key not in seen:
                seen.add(key)
                lines.append(str(finding))
        return "\n".join(lines)


def fuzz_app(database_url: str) -> FastAPI:
    settings = Settings(database_url=database_url, environment="test")
    return create_app(settings, sweeper=False)


def prepare(app: FastAPI) -> None:
    """A small world to find: a site with products, a dealer with a campaign."""
    from tests.crm.helpers import make_dealer
    from tests.factories import make_world

    with app.state.session_factory() as session:
        make_world(session)
        make_dealer(session)
        session.commit()


def staff_cookie(app: FastAPI, role: str = "admin") -> dict[str, str]:
    """A fresh session of a signed-in staff user, as the cookie a browser would send."""
    from fastapi.testclient import TestClient

    from paddock.accounts.principals import SESSION_COOKIE
    from tests.auth import sign_in

    client = TestClient(app)
    with app.state.session_factory() as session:
        sign_in(client, session, role)
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    return {SESSION_COOKIE: token}


def fuzz(
    app: FastAPI,
    *,
    examples: int,
    seed_value: int = 2015,
    who: Iterable[str] = ("anonymous", "staff"),
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
) -> Tally:
    """Call every operation with `examples` generated requests per mode and caller."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for caller in who:
        for operation in operations:
            name = f"{operation.method.upper()} {operation.path}"
            if caller == "staff" and name in SESSION_ENDING:
                continue
            tally.operations.add(name)
            cookies = staff_cookie(app) if caller == "staff" else None
            for mode in modes:
                if mode == GenerationMode.NEGATIVE and not _negatable(operation):
                    continue  # nothing to break: any string is a valid path segment
                _fuzz_operation(operation, mode, cookies, caller, name, examples, seed_value, tally)
    return tally


def _negatable(operation: Any) -> bool:
    """Whether a request can break the operation's schema: a body, a query or header
    parameter, or a path parameter that is not any string."""
    if list(operation.body) or operation.query.items or operation.headers.items:
        return True
    return any(
        (p.definition.get("schema") or {}).get("type") != "string"
        for p in operation.path_parameters.items
    )


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    cookies: dict[str, str] | None,
    caller: str,
    name: str,
    examples: int,
    seed_value: int,
    tally: Tally,
) -> None:
    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(cookies=cookies)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        kind = response.headers.get("content-type", [""])
        kind = kind[0] if isinstance(kind, list) else str(kind)
        if response.status_code >= 500 or (response.status_code >= 400 and kind != PROBLEM):
            tally.findings.append(
                Finding(
                    caller,
                    name,
                    response.status_code,
                    kind,
                    _describe(case),
                    response.text[:300].replace("\n", " "),
                )
            )

    try:
        run()
    except Unsatisfiable:
        pass  # no request of this kind exists (e.g. a negative one for a free-form string)
    except Exception as exc:  # an error the app did not handle: a 500 to a client
        tally.requests += 1
        tally.statuses[500] += 1
        tally.findings.append(Finding(caller, name, 500, "(raised)", f"({mode})", repr(exc)[:300]))


def _describe(case: Any) -> str:
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    if case.headers:
        parts.append(f"headers={case.headers!r}")
    if case.body is not None and not isinstance(case.body, type(None)):
        parts.append(f"body={case.body!r}"[:200])
    if case.media_type:
        parts.append(f"media_type={case.media_type}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="per operation, mode, caller")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument(
        "--postgres", action="store_true", help="on a scratch PostgreSQL database (else SQLite)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PADDOCK_SOLVER_SECONDS", "1")
    with scratch_database(args.postgres) as url:
        app = fuzz_app(url)
        prepare(app)
        started = time.monotonic()
        tally = fuzz(app, examples=args.examples, seed_value=args.seed)
        print(tally.report())
        print(f"seconds: {time.monotonic() - started:.0f}")
    return 1 if tally.findings else 0


@contextmanager
def scratch_database(postgres: bool) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL database made for the run
    on the test server (PADDOCK_TEST_POSTGRES_URL) and dropped after it."""
    from paddock.migrate import upgrade

    if not postgres:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/fuzz.db"
            upgrade(url)
            yield url
        return
    import psycopg

    admin = os.environ.get("PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"paddock_fuzz_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        upgrade(f"{url}/{name}")
        yield f"{url}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
