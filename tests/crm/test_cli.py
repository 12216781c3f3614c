"""`paddock kpi`, `paddock crm …`, `paddock webhooks …` and `paddock rollup …` on a small
world: tables and CSV, an import refused with its rows listed, the dispatcher and replay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from paddock.webhooks import service as webhooks
from tests.bookings.test_cli import runner_for
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, make_world


def test_kpi_table_and_csv(session: Session, database_url: str) -> None:
    make_world(session)
    dealer = make_dealer(session).id
    visit(session, email="ann@example.com", day=MONDAY, dealer_id=dealer)
    run = runner_for(database_url)
    table = run("kpi", "--year", "2031", "--as-of", "2031-06-30")
    assert table.exit_code == 0, table.output
    assert "Drivers on the circuit" in table.output and "20,000" in table.output
    assert "D-ATL-001" in table.output
    csv = run("kpi", "--year", "2031", "--as-of", "2031-06-30", "--csv")
    assert csv.exit_code == 0
    assert "drivers_ytd,all,1,20000,year 2031" in csv.output
    assert "dealer_share,all,1.0,0.15" in csv.output


def test_crm_commands(session: Session, database_url: str, tmp_path: Path) -> None:
    make_world(session)
    make_dealer(session)
    visit(session, email="ann@example.com", day=MONDAY)
    run = runner_for(database_url)
    linked = run("crm", "link")
    assert linked.exit_code == 0 and "1 booking(s) linked, 1 new people" in linked.output
    assert "ann@example.com" in run("crm", "people").output
    bad = tmp_path / "sales.csv"
    bad.write_text("email,name,model,sold_on,deal_ref\nnope,Ann Lee,Macan,2020-01-01,X1\n")
    refused = run("crm", "import-sales", str(bad), "--dealer", "D-ATL-001")
    assert refused.exit_code != 0
    good = tmp_path / "good.csv"
    good.write_text(
        "email,name,model,sold_on,deal_ref\nann@example.com,Ann Lee,Macan,2020-01-01,X1\n"
    )
    done = run("crm", "import-sales", str(good), "--dealer", "D-ATL-001")
    assert done.exit_code == 0 and "imported 1" in done.output, done.output
    exported = run("crm", "export", "1")
    assert exported.exit_code == 0 and '"email": "ann@example.com"' in exported.output
    refused = run("crm", "erase", "1")
    assert refused.exit_code != 0
    assert run("crm", "erase", "1", "--yes").exit_code == 0
    assert run("rollup", "compact").exit_code == 0
    assert run("rollup", "rebuild").exit_code == 0


def test_webhook_commands(
    session: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_world(session)
    dealer = make_dealer(session).id
    monkeypatch.setenv("PADDOCK_WEBHOOK_ALLOW_PRIVATE", "true")  # nothing listens on port 9
    run = runner_for(database_url)
    made = run("webhooks", "set", "D-ATL-001", "http://127.0.0.1:9/nothing-listens")
    assert made.exit_code == 0 and "secret (shown once)" in made.output
    visit(
        session,
        email="ann@example.com",
        day=MONDAY + timedelta(days=1),
        outcome="confirmed",
        dealer_id=dealer,
    )
    sent = run("webhooks", "dispatch", "--max-attempts", "1")
    assert sent.exit_code == 0 and "1 sent: 0 delivered, 0 to retry, 1 dead" in sent.output
    listed = run("webhooks", "events", "--status", "dead")
    assert "booking.created" in listed.output
    replayed = run("webhooks", "replay", "--dead")
    assert replayed.exit_code == 0 and "1 event(s) queued again" in replayed.output
    session.rollback()
    assert [e.status for e in webhooks.list_events(session)] == ["pending"]
