"""Packages follow processes: the Rasa server (server/), the action server (actions/) and
the staff console (staff/) share only core/ and knowledge/; core/ loads as plain Python.

Read from the source, every import statement, those inside functions included, so a late
import cannot hide an edge between processes. For core/ only what loading it needs counts:
`core.http_framing.install(Http)` imports Sanic inside the function, since both servers
run Sanic and call it on their own Sanic."""

import ast
from pathlib import Path
from typing import Dict, Iterator, Set

import pytest

REPO = Path(__file__).resolve().parents[1]
PROCESSES = ("server", "actions", "staff")
# What core/ must not need: it is loaded by every process, and tested without servers.
NOT_IN_CORE = {*PROCESSES, "rasa", "rasa_sdk", "sanic", "tensorflow"}


def _statements(tree: ast.AST, in_functions: bool) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not in_functions:
            continue
        yield node
        yield from _statements(node, in_functions)


def imported_packages(package: str, in_functions: bool = True) -> Dict[str, Set[str]]:
    """Each module file of `package` -> the top-level names it imports."""
    found = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _statements(tree, in_functions):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize("package", PROCESSES)
def test_a_process_package_imports_no_other_process_package(package):
    others = set(PROCESSES) - {package}
    crossing = {path: sorted(names & others) for path, names in imported_packages(package).items()
                if names & others}
    assert crossing == {}


def test_core_loads_as_plain_python_in_every_process():
    loading = imported_packages("core", in_functions=False)
    crossing = {path: sorted(names & NOT_IN_CORE) for path, names in loading.items() if names & NOT_IN_CORE}
    assert crossing == {}
    # …and no process package even inside a function.
    late = {path: sorted(names & set(PROCESSES)) for path, names in imported_packages("core").items()
            if names & set(PROCESSES)}
    assert late == {}


def test_the_check_sees_imports_where_they_are():
    everywhere = imported_packages("core")["core/http_framing.py"]
    loading = imported_packages("core", in_functions=False)["core/http_framing.py"]
    assert "sanic" in everywhere and "sanic" not in loading
    assert any("rasa" in found for found in imported_packages("server").values())
