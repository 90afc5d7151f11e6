"""New terminals written with a grammar: a declaration in the text, a class in the grammar's code.

    terminal gated_conv(channels: {16, 32, 64}, kernel: {3, 5}) : seq -> seq changes channels = GatedConv

declares a block `gated_conv` implemented by `class GatedConv(nn.Module)` in the Python code that comes
with the grammar. Generated candidates construct it as

    GatedConv((channels, length), task.num_outputs, channels=32, kernel=5)

(the input's dimensions as a tuple, the task's number of outputs, then the parameters by name), and
copy the whole code into the candidate module, so each candidate stays one self-contained file.
A dimension the terminal changes takes the value of the parameter of the same name; a terminal that
changes the kind must give the library's output kind (a head).

The host never runs this code: it is only parsed here (to find the classes), statically checked with
every candidate, and executed inside the sandbox, where the grammar check builds sampled derivations.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping

from archlab.spaces.blocks import Block, BlockRegistry, EmitContext, Param, SubtreeEmitter
from archlab.spaces.parser import TerminalDecl
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Choice, IntRange, Pos, Spec, Value

CODE_SOURCE = "terminal code"
CODE_MARKER = "# Terminal code of the grammar"


def code_line(source: str, line: int) -> int | None:
    """The line of the grammar's code that line `line` of a compiled candidate holds, if it is one."""
    lines = source.splitlines()
    marker = next((i + 1 for i, text in enumerate(lines) if text == CODE_MARKER), None)
    end = next((i + 1 for i, text in enumerate(lines) if text.startswith("def build_model(")), len(lines))
    return line - marker if marker is not None and marker < line < end else None


def add_terminals(
    decls: list[TerminalDecl], code: str, blocks: BlockRegistry
) -> tuple[BlockRegistry, list[Problem]]:
    """blocks with the declared terminals added (a copy when there are any), and what is wrong."""
    if not decls:
        return blocks, ([] if not code.strip() else _code_problems(code)[1])
    classes, problems = _code_problems(code)
    if problems:
        return blocks, problems  # with code that does not parse, "no class X" would only add noise
    registry = blocks.copy()
    for decl in decls:
        block, found = _block(decl, code, classes, registry)
        problems += found
        if block is not None and not found:
            registry.register(block)
    return registry, problems


def _code_problems(code: str) -> tuple[set[str], list[Problem]]:
    """Top-level class names in code, or the syntax error located in the code."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        where = Pos(exc.lineno or 1, exc.offset or 1, CODE_SOURCE)
        return set(), [Problem.at(where, f"the grammar's code does not parse: {exc.msg}")]
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}, []


def _block(decl: TerminalDecl, code: str, classes: set[str], registry: BlockRegistry) -> tuple[Block | None, list]:
    problems: list[Problem] = []

    def report(message: str) -> None:
        problems.append(Problem.at(decl.pos, f"terminal {decl.name!r}: {message}"))

    if decl.name in registry:
        report("a block of this name already exists; choose another name")
    if decl.class_name not in classes:
        report(f"the grammar's code defines no class {decl.class_name!r}" + (
            f" (it defines {', '.join(sorted(classes))})" if classes else ""))
    for kind in (decl.takes, decl.gives):
        if kind not in registry.kinds:
            report(f"unknown tensor kind {kind!r} (kinds: {', '.join(sorted(registry.kinds))})")
    if problems:
        return None, problems
    if decl.takes != decl.gives and decl.gives != registry.output_kind:
        report(f"a terminal that changes the kind must give {registry.output_kind}")
    dims = registry.kinds[decl.takes].dims
    names = {name for name, _ in decl.params}
    for dim in decl.changes:
        if dim not in dims:
            report(f"{decl.takes} has no dimension {dim!r} (it has {', '.join(dims)})")
        elif dim not in names:
            report(f"it changes {dim}, so it needs a parameter {dim!r} giving the new size")
    params = []
    for name, spec in decl.params:
        param = _param(name, spec)
        if param is None:
            report(f"parameter {name!r}: give an int range, or a set of ints, of numbers or of names")
        else:
            params.append(param)
    if problems:
        return None, problems
    return Block(decl.name, tuple(params), _emitter(decl, code, dims), _labeler(decl), opens_group=True,
                 takes=decl.takes, gives=decl.gives, changes=frozenset(decl.changes),
                 is_head=decl.gives == registry.output_kind and decl.takes != decl.gives), []


def _param(name: str, spec: Spec) -> Param | None:
    """The declared spec is the whole legal set: calls may give any subset of it."""
    if isinstance(spec, IntRange):
        lo, hi = spec.lo, spec.hi
        return Param(name, "int", lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
                     f"an int in {lo}..{hi}")
    if not isinstance(spec, Choice):
        return None
    values = spec.values
    if all(isinstance(v, int) for v in values):
        kind = "int"
    elif all(isinstance(v, int | float) for v in values):
        kind = "float"
    elif all(isinstance(v, str) for v in values):
        kind = "choice"
    else:
        return None
    allowed = frozenset(values)
    return Param(name, kind, lambda v: v in allowed, "one of " + ", ".join(str(v) for v in values))


def _emitter(decl: TerminalDecl, code: str, dims: tuple[str, ...]):
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]

    def emit(ctx: EmitContext, args: Mapping[str, Value], subtrees: Mapping[str, SubtreeEmitter]) -> None:
        # One copy per code text, however many of its terminals a derivation uses; "~" sorts it last.
        # Code line k lands k lines below the marker, so errors map back to the grammar's code.
        ctx.need_helper(f"~terminals {digest}", f"{CODE_MARKER}\n{code.rstrip()}\n")
        shape = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        values = ", ".join(f"{name}={args[name]!r}" for name, _ in decl.params)
        ctx.append(f"{decl.class_name}({shape}, task.num_outputs" + (f", {values})" if values else ")"))
        for dim in decl.changes:
            ctx.line(f"{dim} = {args[dim]!r}")
            if dim == "channels":
                ctx.shape.channels = int(args[dim])  # type: ignore[arg-type]
        if decl.gives != decl.takes:
            ctx.shape.flat = "num_outputs"
    return emit


def _labeler(decl: TerminalDecl):
    def label(args: Mapping[str, Value], subtrees: Mapping[str, str]) -> str:
        inner = ",".join(str(args[name]) for name, _ in decl.params)
        return f"{decl.name}({inner})" if inner else decl.name
    return label
