"""A search space: a grammar plus limits, with the operations a search needs."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Collection
from functools import cached_property
from importlib import resources
from typing import Any

from archlab.errors import ConfigError
from archlab.spaces.canonical import canonical_key
from archlab.spaces.compile import compile_source
from archlab.spaces.crossover import crossover
from archlab.spaces.derivation import Node, canonical_hash, summary
from archlab.spaces.encoding import Encoder
from archlab.spaces.grammar import Grammar, parse_grammar
from archlab.spaces.library_image import image_blocks
from archlab.spaces.library_lm import lm_blocks
from archlab.spaces.library_nb201 import nb201_blocks
from archlab.spaces.library_vector import vector_blocks
from archlab.spaces.mutate import MOVES, mutate, mutate_with_move
from archlab.spaces.sample import sample_tree
from archlab.spaces.syntax import Limits
from archlab.spaces.treecheck import check_tree

logger = logging.getLogger(__name__)

_BUILTIN_PACKAGE = "archlab.spaces.builtin"
_SUFFIX = ".grammar"
# Block registries of built-in spaces whose blocks are not the 1-D library (parse_grammar's default).
_REGISTRIES = {"nb201": nb201_blocks, "lmblocks": lm_blocks, "vector": vector_blocks,
               "image2d": image_blocks}


class Space:
    """A grammar with the limits its derivations keep to (the grammar's own unless overridden)."""

    def __init__(self, grammar: Grammar, limits: Limits | None = None) -> None:
        self.grammar = grammar
        self.limits = limits or grammar.limits

    def __repr__(self) -> str:
        return f"Space({self.name!r}, {self.limits})"

    @property
    def name(self) -> str:
        return self.grammar.name

    def sample(self, rng: random.Random) -> Node:
        return sample_tree(self.grammar, rng, self.limits)

    def mutate(self, tree: Node, rng: random.Random) -> Node:
        return mutate(tree, self.grammar, rng, self.limits)

    def mutate_with_move(
        self, tree: Node, rng: random.Random, *, moves: Collection[str] = MOVES
    ) -> tuple[Node, str | None]:
        """The mutated tree and the move that made it (None when no move in `moves` applies)."""
        return mutate_with_move(tree, self.grammar, rng, self.limits, moves=moves)

    def crossover(self, a: Node, b: Node, rng: random.Random) -> Node:
        """a with one subtree replaced by a same-rule subtree of b; a itself when no graft fits."""
        return crossover(a, b, self.grammar, rng, self.limits)

    def encode(self, tree: Node) -> list[float]:
        """Production, parameter-value and parent→child counts; same length for every tree."""
        return self._encoder.encode(tree)

    def feature_names(self) -> list[str]:
        return list(self._encoder.names)

    @cached_property
    def _encoder(self) -> Encoder:
        return Encoder(self.grammar)

    def compile(self, tree: Node) -> str:
        return compile_source(tree, self.grammar)

    def summary(self, tree: Node) -> str:
        return summary(tree, self.grammar)

    def hash(self, tree: Node) -> str:
        """The derivation exactly (sha256 of its JSON)."""
        return canonical_hash(tree)

    def canonical(self, tree: Node) -> str:
        """The architecture: equal for derivations that build the same network (canonical.py)."""
        return canonical_key(tree, self.grammar)

    def check(self, tree: Node) -> list[str]:
        """Why tree is not a valid derivation of this space within its limits; empty when it is."""
        return check_tree(tree, self.grammar, self.limits)

    def load_tree(self, data: dict[str, Any]) -> Node:
        """A tree from its to_dict form, rejected with ConfigError unless valid in this space."""
        tree = Node.from_dict(data)
        problems = self.check(tree)
        if problems:
            raise ConfigError(f"not a derivation of space {self.name!r}: " + "; ".join(problems))
        return tree


def list_spaces() -> list[str]:
    """Names of the built-in spaces (grammar files shipped in archlab.spaces.builtin)."""
    files = resources.files(_BUILTIN_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(_SUFFIX) for f in files if f.name.endswith(_SUFFIX))


def load_space(name: str) -> Space:
    """A built-in space by name; ConfigError naming the choices when there is none."""
    return Space(builtin_grammar(name))


@functools.cache
def builtin_grammar(name: str) -> Grammar:
    """The built-in grammar of that name (parsed once), for load_space, `extends` and `import`."""
    if name not in list_spaces():
        raise ConfigError(f"unknown space {name!r}; built-in spaces: {', '.join(list_spaces())}")
    text = resources.files(_BUILTIN_PACKAGE).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    logger.debug("loading built-in space %s", name)
    blocks = _REGISTRIES[name]() if name in _REGISTRIES else None
    return parse_grammar(text, source=name + _SUFFIX, blocks=blocks)
