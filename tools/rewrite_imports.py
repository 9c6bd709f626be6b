"""Rewrite ``stingerml`` imports from old module paths to the package layout of docs/architecture.md.

``python tools/rewrite_imports.py FILE...`` rewrites, in place, every ``import`` /
``from ... import`` of a moved module (and every ``"stingerml.old.path"`` string)
in the given files: inside the package as relative imports, elsewhere as
absolute ones. The map of moves is ``stingerml._compat.MOVED`` (the same map
that keeps the old paths importable with a ``DeprecationWarning``).
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stingerml._compat import MOVED, NAMES_MOVED, new_path  # noqa: E402

_DOTTED = re.compile(r"\bstingerml(?:\.[A-Za-z_]\w*)+")


def module_of(path: Path) -> Optional[str]:
    """Dotted module name of ``path`` when it lies in the package, else None."""
    try:
        rel = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    if rel.parts[0] != "stingerml":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        parts.append("__init__")
    return ".".join(parts)


def _package(module: str) -> List[str]:
    parts = module.split(".")
    return parts[:-1]


def _relative(from_module: str, target: str) -> str:
    """``target`` written relative to the package of ``from_module`` (``..core.matrix``)."""
    pkg = _package(from_module)
    tgt = target.split(".")
    common = 0
    while common < min(len(pkg), len(tgt)) and pkg[common] == tgt[common]:
        common += 1
    return "." * (len(pkg) - common + 1) + ".".join(tgt[common:])


def _absolute(from_module: Optional[str], node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package(from_module or "")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def rewrite_source(text: str, old_module: Optional[str], new_module: Optional[str],
                   old_modules: Dict[str, bool]) -> str:
    """``text`` (a file that was module ``old_module``, now ``new_module``; None outside the package)
    with its imports of moved modules rewritten."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits: List[Tuple[int, int, int, int, List[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(old_module, node)
            if not base.startswith("stingerml"):
                continue
            groups: Dict[str, List[str]] = {}
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in old_modules:  # a submodule imported by name
                    target = new_path(full)
                    parent, _, name = target.rpartition(".")
                else:
                    parent = NAMES_MOVED.get((base, alias.name)) or new_path(base)
                    name = alias.name
                spelled = name if alias.asname is None and name == alias.name else \
                    f"{name} as {alias.asname or alias.name}"
                groups.setdefault(parent, []).append(spelled)
            stmts = []
            for parent, names in groups.items():
                src = _relative(new_module, parent) if new_module else parent
                one = f"from {src} import {', '.join(names)}"
                if len(one) > 110:
                    one = f"from {src} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
                stmts.append(one)
            edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, stmts))
        elif isinstance(node, ast.Import):
            changed = False
            names = []
            for alias in node.names:
                target = new_path(alias.name) if alias.name.startswith("stingerml") else alias.name
                changed |= target != alias.name
                names.append(target + (f" as {alias.asname}" if alias.asname else ""))
            if changed:
                edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                              [f"import {', '.join(names)}"]))
    for lineno, col, end_lineno, end_col, stmts in sorted(edits, reverse=True):
        indent = lines[lineno - 1][:col]
        joined = ("\n" + indent).join("\n".join(
            (ln if i == 0 else (indent + ln)) for i, ln in enumerate(s.split("\n"))) for s in stmts)
        first, last = lines[lineno - 1], lines[end_lineno - 1]
        lines[lineno - 1: end_lineno] = [first[:col] + joined + last[end_col:]]
    out = "".join(lines)
    return _DOTTED.sub(lambda m: new_path(m.group(0)), out)


def old_module_table() -> Dict[str, bool]:
    """Every old dotted module path (moved or not) that an import may name."""
    table = {old: True for old in MOVED}
    for path in (ROOT / "stingerml").rglob("*.py"):
        name = module_of(path)
        if name:
            table[name.removesuffix(".__init__")] = True
    return table


def main(argv: Sequence[str]) -> int:
    table = old_module_table()
    for file in argv:
        path = Path(file)
        if path.name == "_compat.py":
            continue  # the map itself
        mod = module_of(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            new = _DOTTED.sub(lambda m: new_path(m.group(0)), text)
        else:
            new = rewrite_source(text, mod, mod, table)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {file}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
