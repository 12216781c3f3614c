"""The engine's boundary: its modules import no database code, and only the engine's own
"the input is wrong" errors become Invalid (a ValueError from a bug stays a server error)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import paddock.motorsport.engine as engine
from paddock.errors import Invalid
from paddock.motorsport import models as orm
from paddock.motorsport import service, support_requests

ENGINE = Path(engine.__file__).parent
# The ORM and the service layer sit on SQLAlchemy: the engine must reach none of them.
FORBIDDEN = ("sqlalchemy", "paddock.db", "paddock.motorsport.models", "paddock.capacity")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_engine_imports_no_database_code() -> None:
    modules = sorted(ENGINE.glob("*.py"))
    assert {p.stem for p in modules} >= {"demand", "evaluation", "grid", "season", "selection"}
    for path in modules:
        for name in imported_modules(path):
            assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
            if name.startswith("paddock."):
                assert name.startswith(("paddock.motorsport.engine", "paddock.errors")), (
                    f"{path.name} imports {name}, outside the engine"
                )


def test_the_scan_sees_database_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from sqlalchemy.orm import Session\nimport paddock.db\n")
    assert {"sqlalchemy.orm", "paddock.db"} <= imported_modules(source)


def test_a_season_without_calendar_is_invalid_but_a_bug_is_not(
    demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    wec = demo.scalar(select(orm.Championship).where(orm.Championship.code == "WEC"))
    assert wec is not None
    demo.add(orm.Season(championship_id=wec.id, year=2026, calendar_source="manual"))
    demo.commit()
    with pytest.raises(Invalid, match="no calendar events for WEC 2026"):
        service.evaluate_what_if(demo, team="jota", championship="WEC", year=2026, kind="spare")

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in the engine")

    monkeypatch.setattr(support_requests, "evaluate_with", broken)
    with pytest.raises(ValueError, match="a bug in the engine"):
        service.evaluate_what_if(demo, team="jota", championship="WEC", year=2024, kind="spare")
