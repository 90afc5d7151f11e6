"""Building blocks: the terminals a grammar may call, with typed parameters and a code emitter.

A block knows three things: which parameters it takes (and which values are legal), how to write
readable PyTorch lines for itself into a generated build_model, and whether it keeps the sequence
length (combinators such as residual need bodies that do).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from archlab.spaces.syntax import Value

ParamKind = Literal["int", "float", "choice", "subtree"]


@dataclass(frozen=True)
class Param:
    """One declared parameter of a block.

    accepts/describe define the legal values (describe reads like "an odd int in 1..31").
    length_safe lists the values under which the block keeps the length; None means any value does.
    must_keep_length (subtree parameters only) demands that every block the body may reach keeps it.
    """

    name: str
    kind: ParamKind
    accepts: Callable[[Value], bool] = lambda value: True
    describe: str = "any value"
    default: Value | None = None
    length_safe: frozenset[Value] | None = None
    must_keep_length: bool = False

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass
class ShapeNote:
    """What the compiler knows statically about the tensor, for shape comments only.

    channels is None while still the task's input channels; downsample is the product of strides,
    so the length reads as L/downsample (rounded up). flat means a (B, features) tensor.
    """

    channels: int | None = None
    downsample: int = 1
    flat: str | None = None

    def flatten(self) -> None:
        channels = "C" if self.channels is None else str(self.channels)
        length = "L" if self.downsample == 1 else f"L/{self.downsample}"
        self.flat = f"{channels} * {length}"

    def render(self) -> str:
        if self.flat is not None:
            return f"(B, {self.flat})"
        channels = "C" if self.channels is None else str(self.channels)
        length = "L" if self.downsample == 1 else f"L/{self.downsample}"
        return f"(B, {channels}, {length})"


@dataclass
class EmitContext:
    """Where a block writes its lines: the list variable being filled and the shared output."""

    lines: list[str]
    target: str = "layers"
    shape: ShapeNote = field(default_factory=ShapeNote)
    helpers: dict[str, str] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def line(self, code: str, note: str | None = None) -> None:
        self.lines.append("    " + code + (f"  # {note}" if note else ""))

    def append(self, module: str, note: str | None = None) -> None:
        self.line(f"{self.target}.append({module})", note)

    def fresh_number(self) -> int:
        """A number not used before in this module, for naming generated variables."""
        return next(self.counter)

    def nested(self, target: str) -> EmitContext:
        """A context writing into another list, sharing lines, helpers, names and shape notes."""
        return EmitContext(self.lines, target, self.shape, self.helpers, self.counter)

    def need_helper(self, name: str, source: str) -> None:
        self.helpers.setdefault(name, source)


SubtreeEmitter = Callable[[EmitContext], None]
Emitter = Callable[[EmitContext, Mapping[str, Value], Mapping[str, SubtreeEmitter]], None]
Labeler = Callable[[Mapping[str, Value], Mapping[str, str]], str]


@dataclass(frozen=True)
class Block:
    """A terminal of the grammar.

    emit gets the chosen scalar values and, for each subtree parameter, a function that emits the
    sub-derivation into a given context. label gives the short form used by summary();
    opens_group starts a new "→" group there (convs, pools, heads) while norms and acts join it.
    """

    name: str
    params: tuple[Param, ...]
    emit: Emitter
    label: Labeler
    keeps_length: bool = True
    opens_group: bool = False
    is_head: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def subtree_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind == "subtree")


class BlockRegistry:
    """Blocks by name; a grammar is parsed against one registry.

    input_dims names the entries of task.input_shape that generated code unpacks, so a 1-D library
    reads (channels, length) and an image library (channels, height, width).
    """

    def __init__(
        self, blocks: list[Block] | None = None, *, input_dims: tuple[str, ...] = ("channels", "length")
    ) -> None:
        self.input_dims = input_dims
        self._blocks: dict[str, Block] = {}
        for block in blocks or []:
            self.register(block)

    def register(self, block: Block) -> None:
        if block.name in self._blocks:
            raise ValueError(f"block {block.name!r} is already registered")
        self._blocks[block.name] = block

    def get(self, name: str) -> Block | None:
        return self._blocks.get(name)

    def __getitem__(self, name: str) -> Block:
        return self._blocks[name]

    def __contains__(self, name: object) -> bool:
        return name in self._blocks

    def names(self) -> list[str]:
        return sorted(self._blocks)


# -- parameter constructors used by block libraries --------------------------------------------


def int_param(
    name: str,
    lo: int,
    hi: int,
    *,
    odd: bool = False,
    default: int | None = None,
    length_safe: frozenset[Value] | None = None,
) -> Param:
    def accepts(value: Value) -> bool:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return is_int and lo <= value <= hi and (not odd or value % 2 == 1)

    describe = f"{'an odd' if odd else 'an'} int in {lo}..{hi}"
    return Param(name, "int", accepts, describe, default, length_safe)


def float_param(name: str, lo: float, hi: float, *, default: float | None = None) -> Param:
    def accepts(value: Value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi

    return Param(name, "float", accepts, f"a number in [{lo}, {hi}]", default)


def choice_param(name: str, options: tuple[str, ...], *, default: str | None = None) -> Param:
    return Param(name, "choice", lambda value: value in options, "one of " + ", ".join(options), default)


def subtree_param(name: str, *, must_keep_length: bool = False) -> Param:
    return Param(name, "subtree", describe="a rule name", must_keep_length=must_keep_length)
