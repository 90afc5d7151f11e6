"""Loading a candidate module and the static checks made before anything of it runs."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from archlab.errors import CandidateBuildError, CandidateSyntaxError

# A candidate describes a network; it has no business touching processes, sockets or files.
# This is a review aid, not the isolation: the sandbox is what holds a hostile candidate.
FORBIDDEN_IMPORTS = frozenset({
    "os", "sys", "subprocess", "socket", "shutil", "pathlib", "ctypes", "multiprocessing",
    "threading", "signal", "importlib", "builtins", "http", "urllib", "requests", "pickle",
})
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "open", "__import__", "input", "breakpoint"})


def static_check(source: str) -> list[str]:
    """Problems found by reading the source; an empty list means it may be run."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"syntax error at line {exc.lineno}: {exc.msg}"]
    problems = [*_forbidden(tree)]
    if not any(isinstance(n, ast.FunctionDef) and n.name == "build_model" for n in tree.body):
        problems.append("no top-level function build_model(task)")
    return problems


def _forbidden(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: call to {node.func.id}() is not allowed")
            continue
        else:
            continue
        for name in names:
            if name.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"line {node.lineno}: import of {name} is not allowed")
    return found


def load_module(path: Path) -> ModuleType:
    """Import a candidate file as module `candidate`; its errors are the candidate's fault."""
    spec = importlib.util.spec_from_file_location("candidate", path)
    if spec is None or spec.loader is None:
        raise CandidateSyntaxError(f"cannot load {path.name} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise CandidateSyntaxError(f"syntax error at line {exc.lineno}: {exc.msg}") from exc
    if not callable(getattr(module, "build_model", None)):
        raise CandidateBuildError("the module defines no build_model(task)")
    return module
