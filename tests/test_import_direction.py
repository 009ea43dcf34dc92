"""Every dependency points one way: views/api → services → models, anything → scoring, nothing back up.

Reads the source of every module of the app (not tests, bench, fuzz or migrations) with ``ast`` and
checks each import, the ones inside functions included, against the layers below. A lower layer
may never import a higher one, two packages on the same layer never import each other, and no
module imports another package's pages (``views``, ``cli``) except the assembly that registers them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "node_modules", "tests", "migrations", "bench", "fuzz", "assets", "translations"}

# Layer of each top-level module or package, lowest first. Within a feature package, its pages and
# commands (``views``, ``forms``, ``cli``) sit on the web layer, above every service.
LAYERS: dict[str, int] = {
    "scoring": 0,  # pure statistics: imports nothing of ours
    **dict.fromkeys(("settings", "extensions", "dbtypes", "logs", "errors", "inputs", "spreadsheets",
                     "form_errors", "static_files"), 1),  # the ground floor
    "mail": 2, "audit": 2,  # the outbox and the audit log: every feature writes to them
    "people": 3,
    "surveys": 4,
    "dashboards": 5,
    "oneonones": 6, "rewards": 6, "actions": 6, "replies": 6,  # peers: none imports another
    **dict.fromkeys(("api", "scim", "home", "error_pages", "expired_forms"), 7),  # the web layer
    **dict.fromkeys(("tasks", "cli", "demo", "app", "anonymity_audit"), 8),  # the assembly
}
FEATURES, WEB, ASSEMBLY = 3, 7, 8
PAGE_MODULES = ("views", "cli", "forms")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if SKIP & set(relative.parts):
            continue
        found[".".join(relative.with_suffix("").parts).removesuffix(".__init__")] = path
    return found


MODULES = modules()


def _run_time_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imports for type hints only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports(path: Path) -> set[str]:
    """Our modules that ``path`` imports when it runs, at any depth of its code."""
    named: set[str] = set()
    for node in _run_time_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            named.add(node.module)
            named.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in named if name in MODULES}


def layer(module: str) -> int:
    package, _, rest = module.partition(".")
    if rest.split(".")[-1] in PAGE_MODULES and LAYERS[package] < WEB:
        return WEB
    return LAYERS[package]


def test_every_module_has_a_layer():
    assert {name.split(".")[0] for name in MODULES} <= set(LAYERS), "add the new top-level module to LAYERS"


def problem(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    own, package = importer.split(".")[0], imported.split(".")[0]
    if package == own:
        return None if layer(importer) >= layer(imported) else "a package's services import its own pages"
    if imported.split(".")[-1] in ("views", "cli") and layer(importer) < ASSEMBLY:
        return "another package's pages"
    if layer(importer) < layer(imported):
        return f"up the layers ({layer(importer)} → {layer(imported)})"
    if layer(importer) == layer(imported) and FEATURES <= layer(importer) < WEB:
        return "two feature packages on one layer"
    return None


def test_every_import_points_down():
    found = [f"{importer} imports {imported}: {why}"
             for importer, path in sorted(MODULES.items()) for imported in sorted(imports(path))
             if (why := problem(importer, imported))]
    assert found == []


@pytest.mark.parametrize(("importer", "imported"), [
    ("surveys.rounds", "dashboards.results"),  # up
    ("people.directory", "surveys.models"),  # up
    ("rewards.plans", "oneonones.models"),  # peers
    ("mail.services", "people.views"),  # pages
    ("rewards.views", "surveys.views"),  # another package's pages
    ("surveys.rounds", "surveys.views"),  # services over their own pages
    ("scoring.enps", "extensions"),  # scoring is pure
    ("people.directory", "tasks"),  # the assembly
])
def test_the_check_refuses_each_kind_of_wrong_import(importer, imported):
    assert problem(importer, imported) is not None


@pytest.mark.parametrize(("importer", "imported"), [
    ("surveys.rounds", "people.models"), ("dashboards.results", "scoring.enps"), ("errors", "extensions"),
    ("rewards.views", "people.forms"), ("app", "surveys.views"), ("api.surveys", "surveys.rounds"),
])
def test_the_check_allows_imports_that_point_down(importer, imported):
    assert problem(importer, imported) is None


def test_imports_inside_functions_count_and_those_for_type_hints_only_do_not(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from people.models import Person\n"
                      "def f():\n    from surveys import rounds\n")
    assert imports(module) == {"surveys", "surveys.rounds"}
