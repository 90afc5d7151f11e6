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
from archlab.spaces.compose import Composed, GrammarLoader, compose, prune
from archlab.spaces.library1d import seq1d_blocks
from archlab.spaces.parser import ParsedGrammar, parse_text
from archlab.spaces.problems import Problem, raise_if_any
from archlab.spaces.resolve import resolve_rules
from archlab.spaces.syntax import Limits, Pos, Rule
from archlab.spaces.terminals import add_terminals
from archlab.spaces.validate import validate_rules


@dataclass(frozen=True)
class Grammar:
    """A validated grammar. text is what it was parsed from; parent is the grammar it extends and
    imports those it imports from (provenance, stored with agent-written grammars)."""

    name: str
    start: str
    rules: Mapping[str, Rule]
    blocks: BlockRegistry
    limits: Limits
    source: str = "<grammar>"
    text: str = ""
    parent: str | None = None
    imports: tuple[str, ...] = ()
    code: str = ""

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


def parse_grammar(
    text: str,
    *,
    source: str = "<grammar>",
    blocks: BlockRegistry | None = None,
    loader: GrammarLoader | None = None,
    code: str = "",
) -> Grammar:
    """Parse and validate grammar text; raises GrammarError listing every problem found.

    blocks is the block library (default: the parent's when the text extends one, else the 1-D
    library); loader finds the grammars named by `extends` and `import` (default: the built-in ones);
    code is the Python source of the classes that the text's `terminal` lines name (terminals.py).
    """
    parsed, problems = parse_text(text)
    raise_if_any(problems, source=source)  # resolution on a half-parsed text would only add noise
    if not parsed.rules and parsed.extends is None and not parsed.imports:  # terminals alone are no grammar
        raise_if_any([Problem("the grammar defines no rules", 1, 1)], source=source)
    composed = compose(parsed, loader or _builtin_loader(), blocks)
    if not composed.problems and not composed.rules:
        composed.problems.append(Problem("the grammar defines no rules", 1, 1))
    raise_if_any(composed.problems, source=source)
    blocks, problems = add_terminals(parsed.terminals, code, composed.blocks or seq1d_blocks())
    raise_if_any(problems, source=source)
    start, start_pos = _start(parsed, composed)
    rules, problems = resolve_rules(prune(composed.rules, start, composed.local), blocks)
    limits = _limits(parsed, composed.limits)
    problems += validate_rules(rules, start, start_pos, limits, blocks)
    raise_if_any(problems, source=source)
    name = parsed.name or "anonymous"
    return Grammar(name, start, rules, blocks, limits, source, text, composed.parent, composed.imports, code)


def _builtin_loader() -> GrammarLoader:
    from archlab.spaces.space import builtin_grammar  # space.py imports this module

    return builtin_grammar


def _start(parsed: ParsedGrammar, composed: Composed) -> tuple[str, Pos]:
    """The declared start symbol, else the parent's, else the first rule of this text (or import)."""
    if parsed.start is not None:
        return parsed.start
    if composed.start is not None:
        return composed.start
    first = parsed.rules[0] if parsed.rules else composed.rules[0]
    return first.name, first.pos


def _limits(parsed: ParsedGrammar, inherited: Limits | None) -> Limits:
    defaults = inherited or Limits()
    depth = parsed.limits.get("max_depth", (defaults.max_depth, None))[0]
    size = parsed.limits.get("max_size", (defaults.max_size, None))[0]
    return Limits(max_depth=depth, max_size=size)
