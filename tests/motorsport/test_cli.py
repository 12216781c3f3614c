"""`paddock motorsport …` as a user runs it: readable tables, and errors as one red line with a
non-zero exit (SQLite and PostgreSQL)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock import cli
from paddock.audit.models import AuditEntry
from paddock.motorsport import models as orm
from paddock.settings import get_settings
from tests.motorsport.conftest import JDC, JOTA, PROTON


@pytest.fixture(autouse=True)
def _cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PADDOCK_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["paddock", "motorsport", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def test_evaluate_jota_second_car(
    demo: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--team",
        "Jota",
        "--series",
        "WEC",
        "--season",
        "2024",
        "--kind",
        "second-car",
    )
    assert code == 0
    assert out.startswith("ACCEPT  Hertz Team Jota: additional car, WEC 2024")
    assert f"open request {JOTA}" in out
    assert "Event by event, resource by resource" in out
    assert "Shares with Hertz Team Jota's 1 existing car(s) in WEC 2024: engineer" in out
    imola = next(line for line in out.splitlines() if "│ Imola" in line)
    assert "Data specialists" in imola and imola.split("│")[4:8] == [
        "         4 ",
        "          1 ",
        "        5 ",
        "     0 ",
    ]
    assert "Grid: 2 customer car(s) in WEC 2024 + 1 = 3, cap 3 (within)" in out


def test_decide_2024_then_record_it(
    demo: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "decide", "--season", "2024")
    assert code == 0
    assert f"Chosen set: {JOTA}, {JDC}" in out
    assert "Objective 13, bound 13, gap 0.0% — optimal (proven)" in out
    assert f"Greedy in order of arrival: {PROTON}, {JDC} (value 11)" in out
    assert "DECLINE  Proton Competition: additional car, WEC 2024" in out
    assert "First binding constraint: the WEC 2024 grid cap of 3 customer cars" in out
    take = out.split("What it would take")[1]
    assert "cap → 4" in take and "17–19 Apr 2024" in take and "Long Beach / Imola" in take

    code, _, err = run(monkeypatch, capsys, "decide", "--season", "2024", "--record")
    assert code == 1 and "--record needs --by" in err
    monkeypatch.setattr(getpass, "getuser", lambda: "ann")
    code, out, _ = run(
        monkeypatch, capsys, "decide", "--season", "2024", "--record", "--by", "pm", "--why", "ok"
    )
    assert code == 0 and "2 entr(y/ies) created, 19 allocation(s) on the capacity core" in out
    # Decided by whom --by names; the audit trail names who ran the command.
    demo.rollback()
    assert demo.scalar(select(orm.SupportDecision.decided_by)) == "pm"
    actors = demo.scalars(
        select(AuditEntry.actor).where(
            AuditEntry.subject_kind.in_(["support_decision", "support_request"]),
            AuditEntry.action != "received",
        )
    ).all()
    assert actors and set(actors) == {"cli:ann"}
    code, out, _ = run(monkeypatch, capsys, "requests", "list", "--season", "2024")
    assert code == 0
    proton_row = next(line for line in out.splitlines() if PROTON in line)
    assert "declined" in proton_row and "Declined: Proton Competition additional car" in proton_row
    code, _, err = run(monkeypatch, capsys, "decide", "--season", "2024")
    assert code == 1 and err.strip() == "error: No open requests for 2024."


def test_calendar_and_import(
    demo: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, out, _ = run(monkeypatch, capsys, "calendar", "--season", "2024")
    assert code == 0
    long_beach = next(line for line in out.splitlines() if "Long Beach" in line)
    assert "16–20 Apr 2024" in long_beach and "WEC Imola" in long_beach
    code, _, err = run(monkeypatch, capsys, "calendar", "--season", "2031")
    assert code == 1 and "no events in 2031" in err

    good = tmp_path / "elms.csv"
    good.write_text(
        "championship,season,round,venue,country,region,start_date,end_date\n"
        "WEC,2026,Qatar 1812 km,Lusail International Circuit,Qatar,Middle East,2026-02-28,\n",
        encoding="utf-8",
    )
    code, out, _ = run(monkeypatch, capsys, "import-season", str(good))
    assert code == 0 and "WEC 2026: 1 event(s) imported" in out
    code, _, err = run(monkeypatch, capsys, "import-season", str(good))
    assert code == 1 and "WEC 2026 already has 1 event(s)" in err
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace("2026-02-28", "28/02/2026"), encoding="utf-8")
    code, _, err = run(monkeypatch, capsys, "import-season", str(bad), "--replace")
    assert code == 1
    assert err.count("\n") == 1 and "line 2: start_date '28/02/2026' is not a date" in err
    code, _, err = run(monkeypatch, capsys, "import-season", str(tmp_path / "none.csv"))
    assert code == 1 and "no such file" in err


def test_errors_are_one_readable_line(
    demo: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["evaluate", "--series", "WEC", "--season", "2024"]
    code, out, err = run(monkeypatch, capsys, *base, "--team", "Ferrari", "--kind", "spare")
    assert code == 1 and out == ""
    assert err.startswith("error: No customer team 'Ferrari'.") and err.count("\n") == 1
    code, _, err = run(monkeypatch, capsys, *base, "--team", "Jota", "--kind", "third-car")
    assert code == 1 and "'third-car' is not a request kind" in err
    code, _, err = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--team",
        "Jota",
        "--series",
        "ELMS",
        "--season",
        "2024",
        "--kind",
        "spare",
    )
    assert code == 1 and "No championship 'ELMS'" in err


def test_requests_add_and_service_level(
    demo: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch,
        capsys,
        "requests",
        "add",
        "--team",
        "proton",
        "--series",
        "IMSA",
        "--season",
        "2025",
        "--kind",
        "spare-car",
        "--received",
        "2024-06-01",
    )
    assert code == 0 and "request proton-imsa-2025-spare-car recorded" in out
    code, _, err = run(
        monkeypatch,
        capsys,
        "requests",
        "add",
        "--team",
        "proton",
        "--series",
        "IMSA",
        "--season",
        "2025",
        "--kind",
        "spare-car",
        "--received",
        "June",
    )
    assert code == 1 and "'June' is not a date" in err
    code, out, _ = run(monkeypatch, capsys, "service-level", "--season", "2023")
    assert code == 0
    late = next(line for line in out.splitlines() if "Arrived a day late" in line)
    assert "JDC-Miller MotorSports #85" in late and "parts truck" in late
    assert "100% of promised support delivered, 88% on time" in out


@pytest.mark.parametrize("season", ["99999999999999999999", "1066"])
def test_a_season_out_of_range_is_a_usage_error(
    demo: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], season: str
) -> None:
    code, out, err = run(monkeypatch, capsys, "decide", "--season", season)
    assert code == 2 and out == "" and "Invalid value for '--season'" in err
