"""The canonical form of a derivation: the network it builds, with the ways of deriving it forgotten.

Two derivations are the same architecture when they build the same blocks with the same values in
the same arrangement. The form lists the blocks in order with their values and leaves out: which
rules derived them (`features -> stage stages` vs `stages -> stage`), blocks that do nothing
(`identity`), and the order of paths a merge does not care about (the two sides of `branch(merge:
add)`). A block may define its own form (nb201's network block gives the benchmark's isomorphism
class of its cell). The critic compares this key before any compute is spent.
"""

from __future__ import annotations

import hashlib

from archlab.spaces.derivation import Node
from archlab.spaces.grammar import Grammar


def canonical_form(tree: Node, grammar: Grammar) -> str:
    return " ".join(part for part in _parts(tree, grammar) if part)


def canonical_key(tree: Node, grammar: Grammar) -> str:
    return hashlib.sha256(canonical_form(tree, grammar).encode()).hexdigest()


def _parts(node: Node, grammar: Grammar) -> list[str]:
    if node.is_rule:
        return [part for child in node.children for part in _parts(child, grammar)]
    block = grammar.block(node.symbol)
    bodies = [canonical_form(child, grammar) for child in node.children]
    if block.canonical is not None:
        return [block.canonical(node.params, bodies)]
    values = ",".join(f"{name}={node.params[name]}" for name in sorted(node.params))
    inner = "".join(f"[{body}]" for body in bodies)
    return [f"{node.symbol}({values}){inner}"]
