"""Fail if the modules of a package import each other in a cycle, or (for ``stingerml``) against its layers.

Builds the graph of intra-package imports with :mod:`ast` (every ``import`` and
``from ... import`` statement, at module level or inside a function: a lazy
import is still a dependency) and prints each cycle found.
``from . import name`` counts as an import of the submodule ``name`` when there
is one, else of the package. Importing a module implies importing its
parent packages, but those edges are not counted: a package's
``__init__`` is where it names its submodules.

The layers of ``stingerml`` (docs/architecture.md), bottom to top: an import
may point to its own layer or a lower one, and the domains (one layer) never
import each other. ``LAYERS`` names each layer's top-level members of the package.

Usage: ``python tools/check_imports.py [PACKAGE_DIR]`` (default ``stingerml``);
exit code 0 when there is no cycle and no upward import, 1 otherwise.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

LAYERS = (
    ("foundations", ("_version", "_compat", "core")),
    ("kernels", ("_kernels",)),
    ("formats", ("formats",)),
    ("learn", ("learn",)),
    ("deploy", ("deploy",)),
    ("domains", ("blaster", "tabular", "audio", "sequence")),
    ("device", ("device",)),
    ("cli", ("cli", "__main__", "")),
)
"""Bottom to top: each layer and the first name under the package of its members (``""``: the package's
own ``__init__``). Each member of ``domains`` is its own room: no domain imports another."""


def layer_of(module: str) -> Tuple[int, str]:
    """(layer index, member) of a dotted module name of the package (``stingerml.blaster.log`` → domains)."""
    member = module.split(".")[1] if "." in module else ""
    for index, (_, members) in enumerate(LAYERS):
        if member in members:
            return index, member
    raise KeyError(f"{module}: not in any layer of tools/check_imports.py LAYERS; add its package there")


def upward(graph: Dict[str, Set[str]]) -> List[str]:
    """Every import that points up a layer or from one domain into another, as ``a -> b`` lines."""
    out = []
    for name in sorted(graph):
        here, member = layer_of(name)
        for target in sorted(graph[name]):
            if target == name.split(".")[0]:
                continue  # the package itself: importing any submodule implies it
            there, other = layer_of(target)
            if there > here or (there == here and other != member and LAYERS[here][0] == "domains"):
                out.append(f"{name} ({LAYERS[here][0]}) -> {target} ({LAYERS[there][0]})")
    return out


def module_names(root: Path) -> Dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under the package directory ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The package's modules that ``name`` (file ``path``) imports."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # "import a.b.c" of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: List[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "stingerml").resolve()
    modules = module_names(root)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    found = cycles(graph)
    edges = sum(len(v) for v in graph.values())
    for component in found:
        print("import cycle: " + " <-> ".join(component))
    wrong = upward(graph) if root.name == "stingerml" else []
    for line in wrong:
        print("upward import: " + line)
    print(f"{len(modules)} modules, {edges} intra-package imports, {len(found)} cycles, {len(wrong)} upward imports")
    return 1 if found or wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
