"""Grammars built from grammars: `extends` a parent, `import` another's rules, `rule |= ...`.

- `extends parent`: every rule of parent, its start symbol, limits and block library; a rule defined
  here with a parent rule's name replaces it (a reweighting, or a new definition).
- `import other` brings every rule of other; `import other: a, b` brings a and b and the rules they
  use. An imported rule may not share its name with a rule of this grammar or of another import
  (unless it is the very same rule reached twice).
- `name |= alternatives` adds alternatives to an inherited or imported rule.

Inherited and imported rules that the start symbol no longer reaches are dropped quietly; a rule
written here that nothing reaches is still reported. Inherited rules keep their positions, tagged
with the grammar they come from, so a problem found in one names the right text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archlab.errors import ConfigError
from archlab.spaces.analysis import reachable
from archlab.spaces.blocks import BlockRegistry
from archlab.spaces.parser import Import, ParsedGrammar
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Alternative, Call, Choice, IntRange, Item, Limits, Pos, Ref, Rule, Spec, SubRule

if TYPE_CHECKING:  # grammar.py imports this module
    from archlab.spaces.grammar import Grammar

GrammarLoader = Callable[[str], "Grammar"]


@dataclass
class Composed:
    """The rules to resolve, in order, with what the grammar inherits."""

    rules: list[Rule]
    local: set[str]
    blocks: BlockRegistry | None
    start: tuple[str, Pos] | None = None
    limits: Limits | None = None
    parent: str | None = None
    imports: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    twice: list[Rule] = field(default_factory=list)


def compose(parsed: ParsedGrammar, loader: GrammarLoader, blocks: BlockRegistry | None) -> Composed:
    merged: dict[str, tuple[Rule, str | None]] = {}  # name -> (rule, grammar it came from; None: this one)
    out = Composed([], {rule.name for rule in parsed.rules}, blocks)
    if parsed.extends is not None:
        _inherit(parsed.extends, loader, merged, out)
    for spec in parsed.imports:
        _import(spec, loader, merged, out)
    for rule in parsed.rules:
        _define(rule, merged, out)
    for addition in parsed.additions:
        _add(addition, merged, out)
    out.rules = [rule for rule, _ in merged.values()] + out.twice
    return out


def prune(rules: list[Rule], start: str, local: set[str]) -> list[Rule]:
    """Drop inherited or imported rules the start symbol no longer reaches."""
    table = {rule.name: rule for rule in rules}
    seen = reachable(table, start) if start in table else set(table)
    return [rule for rule in rules if rule.name in seen or rule.name in local]


def _load(name: str, pos: Pos, loader: GrammarLoader, out: Composed) -> Grammar | None:
    try:
        return loader(name)
    except ConfigError as exc:  # GrammarError is one: a grammar that does not load, or none of that name
        first = str(exc).splitlines()[0]
        out.problems.append(Problem.at(pos, f"cannot use grammar {name!r}: {first}"))
        return None


def _inherit(extends: tuple[str, Pos], loader: GrammarLoader, merged: dict, out: Composed) -> None:
    name, pos = extends
    parent = _load(name, pos, loader, out)
    if parent is None:
        return
    if out.blocks is None:
        out.blocks = parent.blocks
    out.start = (parent.start, parent.rule(parent.start).pos)
    out.limits, out.parent = parent.limits, parent.name
    for rule_name, rule in parent.rules.items():
        merged[rule_name] = (_retag(rule, parent.name), parent.name)


def _import(spec: Import, loader: GrammarLoader, merged: dict, out: Composed) -> None:
    other = _load(spec.grammar, spec.pos, loader, out)
    if other is None:
        return
    out.imports += (other.name,)
    if out.blocks is None:
        out.blocks = other.blocks
    elif other.blocks.name != out.blocks.name:
        message = (f"grammar {other.name!r} is built on the {other.blocks.name} blocks, this one on the "
                   f"{out.blocks.name} blocks; extend it instead")
        out.problems.append(Problem.at(spec.pos, message))
        return
    wanted = _closure(other, spec, out)
    for rule_name in [name for name in other.rules if name in wanted]:
        rule = other.rules[rule_name]
        if rule_name in merged and merged[rule_name][1] == other.name:
            continue  # the same rule reached through two imports
        if rule_name in merged or rule_name in out.local:
            where = "this grammar" if rule_name in out.local else f"grammar {merged[rule_name][1]!r}"
            out.problems.append(Problem.at(spec.pos, f"rule {rule_name!r} imported from {other.name!r} clashes "
                                                     f"with rule {rule_name!r} of {where}"))
            continue
        merged[rule_name] = (_retag(rule, other.name), other.name)


def _closure(other: Grammar, spec: Import, out: Composed) -> set[str]:
    if spec.names is None:
        return set(other.rules)
    wanted: set[str] = set()
    for name in spec.names:
        if name not in other.rules:
            choices = ", ".join(sorted(other.rules))
            out.problems.append(Problem.at(spec.pos, f"grammar {other.name!r} has no rule {name!r} (it has {choices})"))
        else:
            wanted |= reachable(other.rules, name)
    return wanted


def _define(rule: Rule, merged: dict, out: Composed) -> None:
    if rule.name in merged and merged[rule.name][1] is None:
        out.twice.append(rule)  # defined twice here: resolution reports it
        return
    if rule.name in merged and merged[rule.name][1] != out.parent:
        return  # clash with an import: reported by _import
    merged[rule.name] = (rule, None)  # new, or replacing the parent's rule of that name


def _add(addition: Rule, merged: dict, out: Composed) -> None:
    if addition.name not in merged:
        message = f"'{addition.name} |= ...' needs an inherited or imported rule {addition.name!r}"
        out.problems.append(Problem.at(addition.pos, message))
        return
    rule, origin = merged[addition.name]
    merged[addition.name] = (dataclasses.replace(rule, alternatives=rule.alternatives + addition.alternatives), origin)
    out.local.add(addition.name)  # it now holds text of this grammar


# -- positions tagged with the grammar they were written in ------------------------------------------


def _retag(rule: Rule, source: str) -> Rule:
    alternatives = tuple(
        Alternative(tuple(_item(item, source) for item in alt.items), alt.weight, _pos(alt.pos, source))
        for alt in rule.alternatives
    )
    note = rule.annotation and dataclasses.replace(rule.annotation, pos=_pos(rule.annotation.pos, source))
    return Rule(rule.name, alternatives, _pos(rule.pos, source), note)


def _pos(pos: Pos, source: str) -> Pos:
    return pos if pos.source is not None else Pos(pos.line, pos.column, source)


def _item(item: Item, source: str) -> Item:
    if isinstance(item, Ref):
        return Ref(item.name, _pos(item.pos, source))
    return Call(item.block, tuple((name, _spec(spec, source)) for name, spec in item.args), _pos(item.pos, source))


def _spec(spec: Spec, source: str) -> Spec:
    if isinstance(spec, Choice | IntRange | SubRule):
        return dataclasses.replace(spec, pos=_pos(spec.pos, source))
    raise TypeError(f"unexpected spec {spec!r}")
