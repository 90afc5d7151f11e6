"""A parsed, validated probabilistic context-free grammar over building blocks.

The text format is described in README.md next to this file. parse_grammar reads it, resolves
names against a block registry and validates the result; every problem found is reported at once
in one GrammarError (the first problem's line and column on the exception itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from archlab.spaces.analysis import Shortest, SizeWithin
from archlab.spaces.blocks import Block, BlockRegistry
from archlab.spaces.library1d import seq1d_blocks
from archlab.spaces.parser import ParsedGrammar, parse_text
from archlab.spaces.problems import Problem, raise_if_any
from archlab.spaces.resolve import resolve_rules
from archlab.spaces.syntax import Limits, Pos, Rule
from archlab.spaces.validate import validate_rules


@dataclass(frozen=True)
class Grammar:
    name: str
    start: str
    rules: Mapping[str, Rule]
    blocks: BlockRegistry
    limits: Limits
    source: str = "<grammar>"

    @cached_property
    def shortest(self) -> Shortest:
        """Minimum derivation depth and size per rule; the sampler keeps within the limits with it."""
        return Shortest(self.rules)

    def size_within(self, max_depth: int) -> SizeWithin:
        """Smallest derivation sizes under a depth limit (cached per limit)."""
        if max_depth not in self._size_tables:
            self._size_tables[max_depth] = SizeWithin(self.rules, max_depth)
        return self._size_tables[max_depth]

    @cached_property
    def _size_tables(self) -> dict[int, SizeWithin]:
        return {}

    def rule(self, name: str) -> Rule:
        return self.rules[name]

    def block(self, name: str) -> Block:
        return self.blocks[name]


def parse_grammar(text: str, *, source: str = "<grammar>", blocks: BlockRegistry | None = None) -> Grammar:
    """Parse and validate grammar text; raises GrammarError listing every problem found."""
    blocks = blocks if blocks is not None else seq1d_blocks()
    parsed, problems = parse_text(text)
    raise_if_any(problems, source=source)  # resolution on a half-parsed text would only add noise
    if not parsed.rules:
        raise_if_any([Problem("the grammar defines no rules", 1, 1)], source=source)
    rules, problems = resolve_rules(parsed.rules, blocks)
    start, start_pos = _start(parsed)
    limits = _limits(parsed)
    problems += validate_rules(rules, start, start_pos, limits, blocks)
    raise_if_any(problems, source=source)
    return Grammar(parsed.name or "anonymous", start, rules, blocks, limits, source)


def _start(parsed: ParsedGrammar) -> tuple[str, Pos]:
    """The declared start symbol, or the first rule when no `start` line is given."""
    if parsed.start is not None:
        return parsed.start
    first = parsed.rules[0]
    return first.name, first.pos


def _limits(parsed: ParsedGrammar) -> Limits:
    defaults = Limits()
    depth = parsed.limits.get("max_depth", (defaults.max_depth, None))[0]
    size = parsed.limits.get("max_size", (defaults.max_size, None))[0]
    return Limits(max_depth=depth, max_size=size)
