"""The type check: every derivation of a valid grammar connects only pieces whose tensors fit.

A rule's signature is inferred from its alternatives (all alternatives of a rule must agree on the
kinds, since any may be drawn); items in an alternative must chain (what one gives, the next takes);
a subtree parameter's body must meet its block's requirement (a residual body keeps the length); a
rule's annotation (`body : seq -> seq keeps length`) must hold; the start symbol must map the
library's input kind to its output kind. Because the checks hold for every alternative, every tree
the sampler, mutation or crossover can make is well typed: none of them needs to check types again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from archlab.spaces.analysis import spec_values
from archlab.spaces.blocks import Block, BlockRegistry
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Alternative, Call, Item, Pos, Ref, Rule, SubRule
from archlab.spaces.types import KindMismatch, Requirement, Signature, join, then

Signatures = dict[str, Signature]


def check_types(
    rules: Mapping[str, Rule], start: str, start_pos: Pos, blocks: BlockRegistry
) -> list[Problem]:
    problems = _annotation_syntax(rules, blocks)
    if problems:
        return problems  # an unknown kind or dimension would only echo through every check below
    sigs = infer_signatures(rules, blocks)
    checker = _Checker(rules, blocks, sigs)
    for rule in rules.values():
        checker.alternatives_agree(rule)
        checker.items_chain(rule)
        checker.bodies_meet_requirements(rule)
        checker.annotation_holds(rule)
    checker.start_maps_input_to_output(start, start_pos)
    return list(checker.problems.values())


def infer_signatures(rules: Mapping[str, Rule], blocks: BlockRegistry) -> Signatures:
    """Each rule's signature, as a least fixpoint; rules whose every alternative is ill-typed are left out.

    The previous value seeds each join, so kinds never change once known and `changes` only grows:
    the loop ends.
    """
    sigs: Signatures = {}
    changed = True
    while changed:
        changed = False
        for name, rule in rules.items():
            found = sigs.get(name)
            for alt in rule.alternatives:
                sig = alternative_signature(alt, blocks, sigs)
                if sig is None:
                    continue
                try:
                    found = sig if found is None else join(found, sig)
                except KindMismatch:
                    continue  # reported by alternatives_agree once the fixpoint is reached
            if found is not None and found != sigs.get(name):
                sigs[name] = found
                changed = True
    return sigs


def alternative_signature(alt: Alternative, blocks: BlockRegistry, sigs: Signatures) -> Signature | None:
    """The items composed left to right; None when one is unknown yet or they do not chain."""
    result = Signature()
    for item in alt.items:
        sig = item_signature(item, blocks, sigs)
        if sig is None:
            return None
        try:
            result = then(result, sig)
        except KindMismatch:
            return None
    return result


def item_signature(item: Item, blocks: BlockRegistry, sigs: Signatures) -> Signature | None:
    if isinstance(item, Ref):
        return sigs.get(item.name)
    block = blocks.get(item.block)
    if block is None:
        return None  # an unknown block is reported by resolution
    changes = set(block.changes) | call_changes(item, block)
    if block.passes_body:
        for body in _bodies(item):
            if body not in sigs:
                return None
            changes |= sigs[body].changes
    return Signature(block.takes, block.gives, frozenset(changes))


def call_changes(call: Call, block: Block) -> set[str]:
    """Dimensions the call's own parameter values change (a stride of 2 changes the length)."""
    found = set()
    for name, spec in call.args:
        param = block.param(name)
        if param and param.changes and not isinstance(spec, SubRule):
            if any(value not in param.safe for value in spec_values(spec)):
                found.add(param.changes)
    return found


def _bodies(call: Call) -> list[str]:
    return [spec.rule for _, spec in call.args if isinstance(spec, SubRule)]


def _annotation_syntax(rules: Mapping[str, Rule], blocks: BlockRegistry) -> list[Problem]:
    problems = []
    kinds = ", ".join(sorted(blocks.kinds))
    for rule in rules.values():
        note = rule.annotation
        if note is None:
            continue
        at = note.pos
        for kind in (note.takes, note.gives):
            if kind not in blocks.kinds:
                problems.append(Problem.at(at, f"rule {rule.name!r}: unknown tensor kind {kind!r} (kinds: {kinds})"))
        if note.keeps and note.takes != note.gives:
            problems.append(Problem.at(at, f"rule {rule.name!r}: 'keeps' needs the same kind in and out"))
        elif note.takes in blocks.kinds:
            dims = blocks.kinds[note.takes].dims
            for dim in note.keeps:
                if dim not in dims:
                    message = f"rule {rule.name!r}: {note.takes} has no dimension {dim!r} (it has {', '.join(dims)})"
                    problems.append(Problem.at(at, message))
    return problems


class _Checker:
    def __init__(self, rules: Mapping[str, Rule], blocks: BlockRegistry, sigs: Signatures) -> None:
        self.rules, self.blocks, self.sigs = rules, blocks, sigs
        self.problems: dict[tuple[Pos, str], Problem] = {}  # one report per place and message

    def report(self, pos: Pos, message: str) -> None:
        self.problems.setdefault((pos, message), Problem.at(pos, message))

    def alternatives_agree(self, rule: Rule) -> None:
        overall = self.sigs.get(rule.name)
        if overall is None:
            return
        for alt in rule.alternatives:
            sig = alternative_signature(alt, self.blocks, self.sigs)
            if sig is None:
                continue
            try:
                join(overall, sig)
            except KindMismatch:
                self.report(alt.pos, f"alternative '{alt.render()}' of rule {rule.name!r} maps {sig.render()}, "
                                     f"but the rule maps {overall.render()} elsewhere; alternatives must agree")

    def items_chain(self, rule: Rule) -> None:
        for alt in rule.alternatives:
            so_far, before = Signature(), None
            for item in alt.items:
                sig = item_signature(item, self.blocks, self.sigs)
                if sig is None:
                    so_far, before = Signature(), None
                    continue
                try:
                    so_far = then(so_far, sig)
                except KindMismatch:
                    self.report(item.pos, f"{item.render()} takes {sig.takes}, but {before} before it "
                                          f"gives {so_far.gives}")
                    so_far = sig
                before = item.render()

    def bodies_meet_requirements(self, rule: Rule) -> None:
        for alt in rule.alternatives:
            for item in alt.items:
                if isinstance(item, Call) and item.block in self.blocks:
                    self._body_requirements(item)

    def _body_requirements(self, call: Call) -> None:
        block = self.blocks[call.block]
        for name, spec in call.args:
            param = block.param(name)
            if not (param and param.requires and isinstance(spec, SubRule)):
                continue
            where = f"the {name} of {block.name} at line {call.pos.line}"
            self.meets(spec.rule, param.requires, spec.pos, where)

    def annotation_holds(self, rule: Rule) -> None:
        note = rule.annotation
        if note is not None:
            requirement = Requirement(note.takes, note.gives, frozenset(note.keeps))
            self.meets(rule.name, requirement, note.pos, f"rule {rule.name!r}, declared {note.render()},")

    def meets(self, rule_name: str, requirement: Requirement, pos: Pos, where: str) -> None:
        sig = self.sigs.get(rule_name)
        if sig is None:
            return
        problem = requirement.kind_problem(sig)
        if problem:
            self.report(pos, f"{rule_name!r} {problem} by {where}")
        for dim in sorted(requirement.keeps & sig.changes):
            for call, reason in self.culprits(rule_name, dim):
                message = f"{call.render()} {reason}, but it is reachable from {rule_name!r}, {where} which must "
                self.report(call.pos, message + f"keep the {dim}")

    def culprits(self, rule_name: str, dim: str) -> Iterator[tuple[Call, str]]:
        """Calls under rule_name that change dim where it shows in the rule's output."""
        seen: set[str] = set()
        stack = [rule_name]
        while stack:
            name = stack.pop()
            if name in seen or name not in self.rules:
                continue
            seen.add(name)
            for alt in self.rules[name].alternatives:
                for item in alt.items:
                    if isinstance(item, Ref):
                        stack.append(item.name)
                    elif item.block in self.blocks:
                        block = self.blocks[item.block]
                        reason = _change_reason(item, block, dim)
                        if reason:
                            yield item, reason
                        if block.passes_body:
                            stack.extend(_bodies(item))

    def start_maps_input_to_output(self, start: str, pos: Pos) -> None:
        sig = self.sigs.get(start)
        inp, out = self.blocks.input_kind, self.blocks.output_kind
        if sig is not None and (sig.takes, sig.gives) != (inp, out):
            shown = "passes its input through" if sig.passes_through else f"maps {sig.takes} -> {sig.gives}"
            self.report(pos, f"the start symbol {start!r} {shown}; a network must map {inp} -> {out}")


def _change_reason(call: Call, block: Block, dim: str) -> str | None:
    if dim in block.changes:
        return f"changes the {dim}"
    for name, spec in call.args:
        param = block.param(name)
        if param and param.changes == dim and not isinstance(spec, SubRule):
            unsafe = [v for v in spec_values(spec) if v not in param.safe]
            if unsafe:
                return f"changes the {dim} when {name} is {unsafe[0]}"
    return None
