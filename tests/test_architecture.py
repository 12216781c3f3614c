"""The conventions a newcomer copies, checked on the source: one unit of work (handlers and pages
never commit or roll back), modules small enough to read, dependencies pointing one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "paddock"
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def _is_interface(path: Path) -> bool:
    """Routers and pages: they parse input, call one use case and map its errors."""
    rel = path.relative_to(SRC)
    return (
        rel.parts[0] == "web"
        or path.name in ("api.py", "pages.py")
        or path.name.endswith("_api.py")
    )


def _calls(path: Path, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in names
        ):
            found.append(f"{path.relative_to(SRC)}:{node.lineno} .{node.func.attr}()")
    return found


def test_handlers_and_pages_never_commit_or_roll_back() -> None:
    interfaces = [p for p in _modules() if _is_interface(p)]
    assert len(interfaces) > 20  # the scan sees the routers and pages
    offenders = [c for p in interfaces for c in _calls(p, {"commit", "rollback"})]
    assert offenders == [], "use the unit of work (paddock.unit_of_work) in a service"


def test_one_unit_of_work() -> None:
    """Transactions begin and end in paddock.unit_of_work (and db.py's primitives) only:
    no other module defines its own retry loop around write_transaction."""
    allowed = {SRC / "unit_of_work.py", SRC / "db.py"}
    offenders = []
    for path in _modules():
        if path in allowed:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("run_write", "_run"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} def {node.name}")
    assert offenders == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_stay_small_enough_to_read(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by use case, as crm/ does"


def test_nothing_imports_analytics_or_web() -> None:
    offenders = []
    for path in _modules():
        top = path.relative_to(SRC).parts[0]
        if top in ("analytics", "web", "app.py", "cli.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                name = node.module
            elif isinstance(node, ast.Import):
                name = node.names[0].name
            else:
                continue
            if name.split(".")[:2] in (["paddock", "analytics"], ["paddock", "web"]):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} imports {name}")
    assert offenders == []
