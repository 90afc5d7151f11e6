"""Building blocks: the terminals a grammar may call, with typed parameters and a code emitter.

A block knows three things: which parameters it takes (and which values are legal), how to write
readable PyTorch lines for itself into a generated build_model, and its type: the tensor kind it takes
and gives and the dimensions it may change (combinators such as residual demand bodies that keep the
length). types.py defines kinds and signatures; typecheck.py checks a grammar with them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from archlab.spaces.syntax import Value
from archlab.spaces.types import Kind, Requirement

ParamKind = Literal["int", "float", "choice", "subtree"]


@dataclass(frozen=True)
class Param:
    """One declared parameter of a block.

    accepts/describe define the legal values (describe reads like "an odd int in 1..31").
    changes names a dimension this parameter may change (a conv's stride changes the length) unless
    its value is in safe; requires (subtree parameters only) is what the body's derivation must be.
    """

    name: str
    kind: ParamKind
    accepts: Callable[[Value], bool] = lambda value: True
    describe: str = "any value"
    default: Value | None = None
    changes: str | None = None
    safe: frozenset[Value] = frozenset()
    requires: Requirement | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass
class ShapeNote:
    """What the compiler knows statically about the tensor, for shape comments only.

    dims are the letters of the input's dimensions after the batch one: the channels first, then the
    spatial ones that strides shrink ("C", "L") for signals, ("C", "H", "W") for images, ("F",) for
    feature vectors. channels is None while still the task's input channels; downsample is the product
    of strides, so a spatial size reads as L/downsample (rounded up). flat means a (B, features) tensor.
    """

    channels: int | str | None = None
    downsample: int = 1
    flat: str | None = None
    dims: tuple[str, ...] = ("C", "L")

    def flatten(self) -> None:
        self.flat = " * ".join(self._sizes())

    def render(self) -> str:
        if self.flat is not None:
            return f"(B, {self.flat})"
        return f"(B, {', '.join(self._sizes())})"

    def _sizes(self) -> list[str]:
        channels = self.dims[0] if self.channels is None else str(self.channels)
        spatial = [d if self.downsample == 1 else f"{d}/{self.downsample}" for d in self.dims[1:]]
        return [channels, *spatial]


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
Canonical = Callable[[Mapping[str, Value], list[str]], str]  # values and the bodies' forms -> the block's form


@dataclass(frozen=True)
class Block:
    """A terminal of the grammar.

    emit gets the chosen scalar values and, for each subtree parameter, a function that emits the
    sub-derivation into a given context. label gives the short form used by summary();
    opens_group starts a new "→" group there (convs, pools, heads) while norms and acts join it.
    takes/gives are kind names (both None: any tensor, given back as it came, like an activation);
    changes lists the dimensions it may change whatever its parameters; with passes_body the
    changes of its subtree bodies show in its output too (a residual's body sets its channels).
    canonical, when set, gives the block's part of the canonical form (canonical.py); "" drops it.
    """

    name: str
    params: tuple[Param, ...]
    emit: Emitter
    label: Labeler
    opens_group: bool = False
    is_head: bool = False
    takes: str | None = None
    gives: str | None = None
    changes: frozenset[str] = frozenset()
    passes_body: bool = False
    canonical: Canonical | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def subtree_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind == "subtree")


class BlockRegistry:
    """Blocks by name; a grammar is parsed against one registry.

    name says which library it is (grammars may only import from grammars on the same library).
    kinds are the tensor kinds its blocks use; a network takes input_kind and gives output_kind.
    The input kind's dims are what generated code unpacks from task.input_shape, so a 1-D library
    reads (channels, length) and an image library (channels, height, width).
    """

    def __init__(
        self,
        blocks: list[Block] | None = None,
        *,
        name: str = "seq1d",
        kinds: tuple[Kind, ...] = (Kind("seq", ("channels", "length")), Kind("logits", ("outputs",))),
        input_kind: str = "seq",
        output_kind: str = "logits",
    ) -> None:
        self.name = name
        self.kinds = {kind.name: kind for kind in kinds}
        if input_kind not in self.kinds or output_kind not in self.kinds:
            raise ValueError(f"input and output kinds must be among {sorted(self.kinds)}")
        self.input_kind, self.output_kind = input_kind, output_kind
        self._blocks: dict[str, Block] = {}
        for block in blocks or []:
            self.register(block)

    def register(self, block: Block) -> None:
        if block.name in self._blocks:
            raise ValueError(f"block {block.name!r} is already registered")
        unknown = {k for k in (block.takes, block.gives) if k is not None} - set(self.kinds)
        if unknown:
            raise ValueError(f"block {block.name!r} uses kinds this registry lacks: {sorted(unknown)}")
        self._blocks[block.name] = block

    def copy(self) -> BlockRegistry:
        """The same blocks and kinds in a new registry, so a caller may add blocks of its own."""
        twin = BlockRegistry(name=self.name, kinds=tuple(self.kinds.values()), input_kind=self.input_kind,
                             output_kind=self.output_kind)
        twin._blocks = dict(self._blocks)
        return twin

    @property
    def input_dims(self) -> tuple[str, ...]:
        return self.kinds[self.input_kind].dims

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
    changes: str | None = None,
    safe: frozenset[Value] = frozenset(),
) -> Param:
    def accepts(value: Value) -> bool:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return is_int and lo <= value <= hi and (not odd or value % 2 == 1)

    describe = f"{'an odd' if odd else 'an'} int in {lo}..{hi}"
    return Param(name, "int", accepts, describe, default, changes, safe)


def float_param(name: str, lo: float, hi: float, *, default: float | None = None) -> Param:
    def accepts(value: Value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi

    return Param(name, "float", accepts, f"a number in [{lo}, {hi}]", default)


def choice_param(name: str, options: tuple[str, ...], *, default: str | None = None) -> Param:
    return Param(name, "choice", lambda value: value in options, "one of " + ", ".join(options), default)


def subtree_param(name: str, *, requires: Requirement | None = None) -> Param:
    return Param(name, "subtree", describe="a rule name", requires=requires)
