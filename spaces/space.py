"""A search space: a grammar plus limits, with the operations a search needs."""

from __future__ import annotations

import logging
import random
from importlib import resources
from typing import Any

from archlab.errors import ConfigError
from archlab.spaces.compile import compile_source
from archlab.spaces.derivation import Node, canonical_hash, summary
from archlab.spaces.grammar import Grammar, parse_grammar
from archlab.spaces.mutate import mutate
from archlab.spaces.sample import sample_tree
from archlab.spaces.syntax import Limits
from archlab.spaces.treecheck import check_tree

logger = logging.getLogger(__name__)

_BUILTIN_PACKAGE = "archlab.spaces.builtin"
_SUFFIX = ".grammar"


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

    def compile(self, tree: Node) -> str:
        return compile_source(tree, self.grammar)

    def summary(self, tree: Node) -> str:
        return summary(tree, self.grammar)

    def hash(self, tree: Node) -> str:
        return canonical_hash(tree)

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
    if name not in list_spaces():
        raise ConfigError(f"unknown space {name!r}; built-in spaces: {', '.join(list_spaces())}")
    text = resources.files(_BUILTIN_PACKAGE).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    logger.debug("loading built-in space %s", name)
    return Space(parse_grammar(text, source=name + _SUFFIX))
