"""No import cycle among the modules of the packages split out of large services.

Walks the ``ast`` of every module under ``server/`` and follows module-level imports
(imports inside functions are deliberate late bindings and do not count). A cycle
among the modules of a checked package means one of its seams is not a seam.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKED = ("server.services.alerts",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / "server").rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def _cycles(graph: dict[str, set[str]], members: set[str]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ()) & members):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(members):
        if node not in state:
            visit(node)
    return cycles


def test_the_walker_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert _cycles(graph, {"a", "b", "c"}) == [["a", "b", "c", "a"]]


def test_no_cycle_inside_the_split_packages() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    for package in CHECKED:
        # The package's __init__ re-exports its modules; cycles through it are the
        # ones that break, so it stays in the set.
        members = {m for m in modules if m == package or m.startswith(package + ".")}
        assert len(members) > 1, package
        assert _cycles(graph, members) == []


def test_the_split_package_imports() -> None:
    import server.services.alerts as alerts

    assert alerts.fold is alerts.ingest.fold
    assert alerts.message_cache is alerts.records.message_cache


# Blueprints live in their own modules (server/web/admin/blueprint.py,
# server/web/public_common.py), so no page module imports the package that imports it.
CYCLE_ALLOWED_UNDER: tuple[str, ...] = ()


def test_no_cycle_anywhere_in_the_server() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    members = {
        m for m in modules if not any(m == p or m.startswith(p + ".") for p in CYCLE_ALLOWED_UNDER)
    }
    assert len(members) > 100
    assert _cycles(graph, members) == []
