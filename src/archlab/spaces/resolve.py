"""Name resolution: bare names become rules or blocks, and every call's arguments are checked.

After this step each Call lists all of its block's parameters in declaration order (defaults filled
in), so a derivation records every value the emitted code uses.
"""

from __future__ import annotations

from archlab.spaces.blocks import Block, BlockRegistry, Param
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Alternative, Call, Choice, IntRange, Item, Pos, Ref, Rule, Spec, SubRule


def resolve_rules(rules: list[Rule], blocks: BlockRegistry) -> tuple[dict[str, Rule], list[Problem]]:
    problems: list[Problem] = []
    table: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in table:
            first = table[rule.name].pos.line
            problems.append(_at(rule.pos, f"rule {rule.name!r} is defined twice (first at line {first})"))
        elif rule.name in blocks:
            problems.append(_at(rule.pos, f"rule {rule.name!r} has the name of a block; rename the rule"))
        else:
            table[rule.name] = rule
    resolver = _Resolver(table, blocks, problems)
    return {name: resolver.rule(rule) for name, rule in table.items()}, problems


def _at(pos: Pos, message: str) -> Problem:
    return Problem.at(pos, message)


class _Resolver:
    def __init__(self, rules: dict[str, Rule], blocks: BlockRegistry, problems: list[Problem]) -> None:
        self.rules, self.blocks, self.problems = rules, blocks, problems

    def report(self, pos: Pos, message: str) -> None:
        self.problems.append(_at(pos, message))

    def rule(self, rule: Rule) -> Rule:
        alternatives = tuple(
            Alternative(tuple(self.item(item) for item in alt.items), alt.weight, alt.pos)
            for alt in rule.alternatives
        )
        return Rule(rule.name, alternatives, rule.pos, rule.annotation)

    def item(self, item: Item) -> Item:
        if isinstance(item, Ref):
            if item.name in self.rules:
                return item
            if item.name in self.blocks:
                return self.call(Call(item.name, (), item.pos))
            self.report(item.pos, f"undefined symbol {item.name!r}: no rule or block has this name")
            return item
        if item.block in self.blocks:
            return self.call(item)
        if item.block in self.rules:
            self.report(item.pos, f"{item.block!r} is a rule and takes no arguments")
        else:
            self.report(item.pos, f"unknown block {item.block!r}")
        return item

    def call(self, call: Call) -> Call:
        block = self.blocks[call.block]
        given = call.arg_map
        for name, spec in call.args:
            if block.param(name) is None:
                takes = ", ".join(p.name for p in block.params) or "no parameters"
                self.report(spec.pos, f"block {block.name!r} has no parameter {name!r} (it takes {takes})")
        args: list[tuple[str, Spec]] = []
        for param in block.params:
            spec = self.arg(block, param, given.get(param.name), call.pos)
            if spec is not None:
                args.append((param.name, spec))
        return Call(call.block, tuple(args), call.pos)

    def arg(self, block: Block, param: Param, spec: Spec | None, pos: Pos) -> Spec | None:
        if spec is None:
            if param.default is None:
                self.report(pos, f"block {block.name!r} needs parameter {param.name!r} ({param.describe})")
                return None
            return Choice((param.default,), pos)
        if param.kind == "subtree":
            return self.subtree_arg(block, param, spec)
        self.check_values(block, param, spec)
        return spec

    def subtree_arg(self, block: Block, param: Param, spec: Spec) -> Spec | None:
        if isinstance(spec, SubRule):  # a rule inherited or imported: resolved in its own grammar
            if spec.rule not in self.rules:
                self.report(spec.pos, f"undefined rule {spec.rule!r} for parameter {param.name!r} of {block.name!r}")
                return None
            return spec
        names = spec.values if isinstance(spec, Choice) else ()
        if len(names) != 1 or not isinstance(names[0], str):
            self.report(spec.pos, f"parameter {param.name!r} of {block.name!r} must name one rule")
            return None
        if names[0] not in self.rules:
            where = f"parameter {param.name!r} of {block.name!r}"
            self.report(spec.pos, f"undefined rule {names[0]!r} for {where}")
            return None
        return SubRule(names[0], spec.pos)

    def check_values(self, block: Block, param: Param, spec: Spec) -> None:
        where = f"{block.name}({param.name})"
        if isinstance(spec, IntRange):
            if param.kind != "int":
                expected = f"expected {param.describe}"
                self.report(spec.pos, f"{where}: a range only fits an int parameter; {expected}")
            # Check every value of a modest range (an odd-only kernel rejects 4 in 3..7); ends only otherwise.
            span = range(spec.lo, spec.hi + 1) if spec.hi - spec.lo <= 4096 else (spec.lo, spec.hi)
            bad = [v for v in span if not param.accepts(v)]
        else:
            assert isinstance(spec, Choice)
            duplicates = sorted({str(v) for v in spec.values if spec.values.count(v) > 1})
            if duplicates:
                self.report(spec.pos, f"{where}: value(s) listed twice: {', '.join(duplicates)}")
            bad = [v for v in spec.values if not param.accepts(v)]
        for value in bad:
            self.report(spec.pos, f"{where}: {value!r} is not {param.describe}")
