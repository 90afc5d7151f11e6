"""The package layout, measured: modules and lines per room, the largest module and function, and the import
arrows between rooms, checked against the rules of DESIGN.md.

    python scripts/layout.py             # tables; exit 1 when an import goes against an arrow
    python scripts/layout.py --json F    # the same figures, machine-readable
    python scripts/layout.py --tree DIR  # a checkout of the layout before src/ (folders mapped into archlab.*):
                                         # its figures, the flat shell counted as one room, no rules checked

A room is a top-level package of `src/archlab` (agents, sandbox, ...) or `errors` / `__init__` at the root.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "archlab"
# What each room may import from archlab besides itself. `errors` is the leaf everyone may use, and the root
# `archlab` package (the lazy public API) is only ever passed through, never imported from below.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "spaces": set(),
    "store": set(),
    "memory": {"store"},
    "evaluator": {"spaces"},
    "sandbox": {"evaluator"},
    "agents": {"evaluator", "memory", "sandbox", "spaces", "store"},
    "run": {"agents", "evaluator", "memory", "sandbox", "spaces", "store"},
    "report": {"run", "agents", "evaluator", "memory", "sandbox", "spaces", "store"},
    "bench": {"run", "report", "agents", "evaluator", "memory", "sandbox", "spaces", "store"},
    "web": {"run", "report", "agents", "evaluator", "memory", "sandbox", "spaces", "store"},
    "cli": {"web", "bench", "report", "run", "agents", "evaluator", "memory", "sandbox", "spaces", "store"},
    "api": {"run", "report", "evaluator", "store"},
    "__init__": {"api"},
    "__main__": {"cli"},
}
for rules in ALLOWED.values():
    rules.add("errors")


def room_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def module_of(path: Path) -> list[str]:
    parts = ["archlab", *path.relative_to(PACKAGE).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_rooms(path: Path) -> set[str]:
    """Rooms of archlab this file imports, relative imports and `from archlab import x` included."""
    found = set()
    here = module_of(path) if path.name == "__init__.py" else module_of(path)[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (here[: len(here) - node.level + 1] if node.level else []) + (node.module or "").split(".")
            base = [p for p in base if p]
            targets = [base + [alias.name] for alias in node.names] if base == ["archlab"] else [base]
        else:
            continue
        for parts in targets:
            if parts[0] == "archlab" and len(parts) > 1:
                found.add(parts[1])
    return found


def functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.end_lineno - node.lineno + 1


def measure(files: list[tuple[str, str, Path]] | None = None, *, check: bool = True) -> dict:
    """Figures over (room, shown path, file); by default every module of src/archlab."""
    files = files if files is not None else [(room_of(p), str(p.relative_to(PACKAGE)), p)
                                             for p in sorted(PACKAGE.rglob("*.py"))]
    known = {room for room, _, _ in files}
    rooms: dict[str, dict] = {}
    arrows: Counter[tuple[str, str]] = Counter()
    violations, largest_module, largest_function = [], ("", 0), ("", 0)
    for room, rel, path in files:
        lines = len(path.read_text().splitlines())
        entry = rooms.setdefault(room, {"modules": 0, "lines": 0})
        entry["modules"] += 1
        entry["lines"] += lines
        largest_module = max(largest_module, (rel, lines), key=lambda x: x[1])
        for name, length in functions(ast.parse(path.read_text())):
            largest_function = max(largest_function, (f"{rel}:{name}", length), key=lambda x: x[1])
        targets = imported_rooms(path) if check else {t if t in known else "shell" for t in _imports(path)}
        for target in targets - {room}:
            arrows[(room, target)] += 1
            if check and target not in ALLOWED.get(room, set()):
                violations.append(f"{rel} imports archlab.{target}")
    return {"rooms": rooms, "arrows": [{"from": a, "to": b, "modules": n} for (a, b), n in sorted(arrows.items())],
            "largest_module": {"path": largest_module[0], "lines": largest_module[1]},
            "largest_function": {"name": largest_function[0], "lines": largest_function[1]},
            "violations": violations}


OLD_FOLDERS = ("agents", "sandbox", "evaluator", "knowledge", "spaces")


def old_layout(tree: Path) -> list[tuple[str, str, Path]]:
    """The folders-mapped layout: each package folder a room, the flat shell `archlab/` one room (web apart)."""
    files = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree)
        if rel.parts[0] in OLD_FOLDERS:
            files.append((rel.parts[0], str(rel), path))
        elif rel.parts[0] == "archlab":
            files.append(("web" if rel.parts[1] == "web" else "shell", str(rel), path))
    return files


def _imports(path: Path) -> set[str]:
    """archlab.<name> imported by an old-layout file (relative imports are not used there)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "archlab" and len(parts) > 1:
                found.add(parts[1])
    return found


def print_tables(figures: dict) -> None:
    print(f"{'room':<10} {'modules':>7} {'lines':>7}")
    for room, entry in sorted(figures["rooms"].items()):
        print(f"{room:<10} {entry['modules']:>7} {entry['lines']:>7}")
    total = figures["rooms"].values()
    print(f"{'total':<10} {sum(e['modules'] for e in total):>7} {sum(e['lines'] for e in total):>7}")
    print(f"\nlargest module:   {figures['largest_module']['path']} ({figures['largest_module']['lines']} lines)")
    print(f"largest function: {figures['largest_function']['name']} ({figures['largest_function']['lines']} lines)")
    print(f"\n{'from':<10} {'to':<10} {'modules':>7}")
    for arrow in figures["arrows"]:
        print(f"{arrow['from']:<10} {arrow['to']:<10} {arrow['modules']:>7}")
    for line in figures["violations"]:
        print(f"against DESIGN.md: {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--tree", type=Path, help="measure a checkout of the layout before src/ instead")
    args = parser.parse_args()
    figures = measure(old_layout(args.tree), check=False) if args.tree else measure()
    print_tables(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if figures["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
