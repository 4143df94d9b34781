"""The layer order, read from every module's imports (ast, so lazy imports inside functions count too):
data -> models -> indexer -> search -> {trainer, ui, bench} -> cli. A module imports only from its own
package and the layers below; the three packages of one layer never import each other; and no cycle of
imports exists between modules, or between packages at any depth."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYERS = {"data": 0, "models": 1, "indexer": 2, "search": 3, "trainer": 4, "ui": 4, "bench": 4, "cli": 5}
TOP = 6  # nounlens/__init__.py (the public `Engine`) and __main__.py stand on everything
ROOT = Path(__file__).resolve().parent.parent / "nounlens"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path, modules: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every nounlens module the file imports; `from pkg import mod` names the module."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                out.append((node.lineno, f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base))
    return [(line, m) for line, m in out if m == "nounlens" or m.startswith("nounlens.")]


def rank(module: str) -> tuple[int, str]:
    """(layer, package) of a module; the root package's own files stand on top."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return TOP, parts[1] if len(parts) > 1 else ""
    return LAYERS[parts[1]], parts[1]


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(root: Path = ROOT) -> list[str]:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    problems, edges = [], set()
    for f in files:
        me = module_name(f, root)
        my_layer, my_package = rank(me)
        for line, target in imports(f, root, modules):
            if target == me:
                continue
            edges.add((me, target))
            layer, package = rank(target)
            if package != my_package and (layer > my_layer or (layer == my_layer and my_layer != TOP)):
                where = "a layer above" if layer > my_layer else "a package of its own layer"
                problems.append(f"{f.relative_to(root.parent)}:{line} imports {target} ({where})")
    depth = max(len(m.split(".")) for m in modules)
    for d in range(2, depth + 1):
        cut = {(".".join(a.split(".")[:d]), ".".join(b.split(".")[:d])) for a, b in edges}
        for comp in cycles({(a, b) for a, b in cut if a != b}):
            problems.append(f"import cycle: {' <-> '.join(comp)}")
    return sorted(set(problems))


def test_imports_run_one_way_and_never_in_a_cycle():
    assert violations() == []


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small nounlens package tree to break on purpose."""
    for f in ("__init__.py", "data/__init__.py", "data/images.py", "search/__init__.py", "search/engine.py",
              "trainer/__init__.py", "ui/__init__.py", "ui/app.py", "trainer/loop.py"):
        (tmp_path / "nounlens" / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "nounlens" / f).write_text("")
    (tmp_path / "nounlens" / "search" / "engine.py").write_text("from nounlens.data.images import x\n")
    return tmp_path / "nounlens"


def test_the_checker_passes_a_clean_tree(tree: Path):
    assert violations(tree) == []


def test_an_upward_import_inside_a_function_is_caught_with_file_and_line(tree: Path):
    (tree / "data" / "images.py").write_text("def f():\n    from nounlens.search import engine\n")
    found = violations(tree)
    assert "nounlens/data/images.py:2 imports nounlens.search.engine (a layer above)" in found


def test_peers_of_one_layer_may_not_import_each_other(tree: Path):
    (tree / "ui" / "app.py").write_text("import nounlens.trainer.loop\n")
    assert violations(tree) == ["nounlens/ui/app.py:1 imports nounlens.trainer.loop (a package of its own layer)"]


def test_a_cycle_inside_one_package_is_caught(tree: Path):
    (tree / "data" / "walk.py").write_text("from nounlens.data import images\n")
    (tree / "data" / "images.py").write_text("from . import walk\n")
    assert violations(tree) == ["import cycle: nounlens.data.images <-> nounlens.data.walk"]
