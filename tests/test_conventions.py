"""Conventions the code keeps, read from the source: each fails naming the offending lines."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import paddock

SRC = Path(paddock.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SRC.rglob("*.py") if "migrations" not in p.relative_to(SRC).parts}


def _imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, module, bound name) for every paddock module this file imports as a module
    (`from paddock.x import service` binds a module; `from paddock.x.service import f` not)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("paddock."):
                    yield node.lineno, alias.name, alias.asname or alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("paddock"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in MODULES:
                    yield node.lineno, full, alias.asname or alias.name


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every paddock module this file imports, or imports names from."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("paddock"):
            yield node.lineno, str(node.module)
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    yield node.lineno, f"{node.module}.{alias.name}"


def _is_api(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "api" or last.endswith("_api")


def test_the_api_modules_are_found() -> None:
    # The scan below means nothing if it finds no API modules (a renamed tree, a moved package).
    apis = {m for m in MODULES if _is_api(m)}
    assert {"paddock.bookings.api", "paddock.catalog.api", "paddock.dealers.api"} <= apis
    assert "paddock.dealers.invitations_api" in apis


def test_no_api_module_imports_another() -> None:
    """An API module maps the services' domain objects with its package's schemas; a mapping
    two routers need lives in a schema (`BookingRead.from_result`), not in a router."""
    found = [
        f"{module} line {line} imports {imported}"
        for module, path in sorted(MODULES.items())
        if _is_api(module)
        for line, imported in _imported_modules(path)
        if _is_api(imported) and imported != module
    ]
    assert found == []


def _package(module: str) -> str:
    return module.rsplit(".", 1)[0]


def test_one_name_per_imported_module() -> None:
    """A module is imported under one name inside its own package and one name elsewhere: a
    package's `service` is `service` at home and the package's name (`bookings`, `catalog`,
    `dealers`) in every other package."""
    names: dict[tuple[str, bool], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for importer, path in MODULES.items():
        for line, module, name in _imports(path):
            at_home = _package(importer) == _package(module)
            names[module, at_home][name].append(f"{importer}:{line}")
    several = {
        f"{module} ({'inside' if at_home else 'outside'} its package)": dict(bound)
        for (module, at_home), bound in sorted(names.items())
        if len(bound) > 1
    }
    assert several == {}
    services = {
        f"{module} as {name}": where
        for (module, at_home), bound in names.items()
        if module.endswith(".service")
        for name, where in bound.items()
        if name != ("service" if at_home else _package(module).rsplit(".", 1)[-1])
    }
    assert services == {}
