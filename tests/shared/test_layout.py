"""The house layout: every service is built from the same rooms with the same names, so a
newcomer who knows one service knows all of them (README, "Code layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.config import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SERVICE_LEVEL = {"__init__.py", "main.py", "service.py", "settings.py"}
NOT_SUBDOMAINS = {"migrations", "data", "__pycache__"}  # its Alembic history; reference data files
ROOMS = {"api", "schemas", "tables", "store", "usecases", "events", "workers", "domain", "x12"}
MAX_LINES = 450


def _subdomains(service: str) -> list[Path]:
    base = ROOT / "services" / service
    return sorted(p for p in base.iterdir() if p.is_dir() and p.name not in NOT_SUBDOMAINS)


@pytest.mark.parametrize("service", [*SERVICE_NAMES, "ops"])
def test_a_service_is_its_service_files_and_subdomain_packages(service):
    base = ROOT / "services" / service
    loose = {p.name for p in base.iterdir() if p.is_file() and p.suffix == ".py"} - SERVICE_LEVEL
    assert not loose, f"{service}: modules outside a sub-domain: {sorted(loose)}"
    assert _subdomains(service), service
    for sub in _subdomains(service):
        assert (sub / "__init__.py").is_file(), f"{sub} is not a package"


@pytest.mark.parametrize("service", [*SERVICE_NAMES, "ops"])
def test_every_subdomain_uses_only_the_room_names(service):
    for sub in _subdomains(service):
        modules = {p.stem for p in sub.glob("*.py")} - {"__init__"}
        assert modules <= ROOMS, f"{sub.relative_to(ROOT)}: {sorted(modules - ROOMS)} are not rooms"
        assert not [
            p for p in sub.iterdir() if p.is_dir() and p.name != "__pycache__" and p.name != "templates"
        ], f"{sub.relative_to(ROOT)} nests packages"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_routes_are_not_libraries():
    """Only a service's service.py imports its api modules: shared logic lives in usecases."""
    for path in (ROOT / "services").rglob("*.py"):
        if path.name == "service.py" or "migrations" in path.parts:
            continue
        api = sorted(m for m in _imports(path) if m.startswith("services.") and m.endswith(".api"))
        assert not api, f"{path.relative_to(ROOT)} imports {api}"


def test_no_module_is_too_long():
    long = {}
    for folder in ("services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                long[str(path.relative_to(ROOT))] = n
    assert not long, long


def test_batched_inserts_go_through_shared_bulk():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py") if "unnest(" in p.read_text()
    ]
    assert not offenders, offenders
