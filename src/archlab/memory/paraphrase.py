"""Is a new claim a paraphrase of a stored one? Embedding similarity proposes, this check decides.

Embeddings place "X improves accuracy" and "X does not improve accuracy" close together (cosine 0.99
with MiniLM), claims that differ only in their numbers closer still, and "changing relu to gelu
improves accuracy" next to "changing gelu to silu improves accuracy" (0.92), so similarity alone would
merge opposites and distinct findings. The check compares polarity (negations and opposite
directions), the numbers quoted, the names (short or symbolic words such as relu, bn, conv(16,k5,s1)),
how many other words are new, the order of the names ("changing relu to gelu" is not "changing gelu to
relu"), the kind, and the scope (task, space). It errs towards keeping two claims apart: a missed merge
costs a near-duplicate, a false one files evidence under the wrong claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from archlab.store.concepts import ConceptBase, LinkKind

_TOKEN = re.compile(r"[a-z]+(?:n't)?")
_WORD = re.compile(r"[a-z0-9_]+(?:\([^()]*\))?(?:[.-][a-z0-9_]+)*")
_NAME = re.compile(r"[\d_()\[\]]")
MAX_NEW_WORDS = 2  # words a paraphrase may use that the other claim does not (synonyms)
_STOPWORDS = frozenset(
    "a an and any are as at be by can for from has have in into is it its of on or so than that the their them "
    "then there these this those to was were which while with".split())
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NEGATORS = {"not", "no", "never", "cannot", "neither", "nor"}
_OPPOSITES = [
    ({"improve", "improves", "improved", "improving", "helps", "help", "helped", "boosts", "boost"},
     {"hurt", "hurts", "worsens", "worsen", "degrades", "degrade", "harms", "harm", "lowers"}),
    ({"increase", "increases", "increased", "increasing", "raises", "raise", "raising"},
     {"decrease", "decreases", "decreased", "decreasing", "reduces", "reducing", "lowering"}),
    ({"higher", "more", "larger", "greater", "wider", "deeper"},
     {"lower", "less", "fewer", "smaller", "narrower", "shallower"}),
    ({"better", "outperforms", "outperform", "faster"}, {"worse", "underperforms", "underperform", "slower"}),
    ({"succeeds", "works", "stable"}, {"fails", "fail", "diverges", "unstable", "collapses"}),
]


@dataclass(frozen=True)
class Decision:
    action: Literal["merge", "insert"]
    link: LinkKind | None = None
    new_is_source: bool = True  # the link runs new -> existing (else existing -> new)


def decide(existing: ConceptBase, new: ConceptBase, similarity: float, threshold: float) -> Decision:
    if similarity < threshold:
        return Decision("insert")
    if _opposed(existing.claim, new.claim):
        return Decision("insert", LinkKind.contradicts)
    if _numbers(existing.claim) and _numbers(new.claim) and _numbers(existing.claim) != _numbers(new.claim):
        return Decision("insert")  # the same statement about different measurements
    scope_words = {w.lower() for w in (existing.task, existing.space, new.task, new.space) if w}
    if not _same_content(existing.claim, new.claim, scope_words):
        return Decision("insert")  # the same sentence about different things
    if _reordered(existing.claim, new.claim):
        return Decision("insert")  # the same names in another order: a change the other way, say
    scope_old, scope_new = _scope(existing), _scope(new)
    if scope_old == scope_new:
        return Decision("merge") if existing.kind == new.kind else Decision("insert", LinkKind.duplicates)
    if _narrower(scope_new, scope_old):
        return Decision("insert", LinkKind.refines)
    if _narrower(scope_old, scope_new):
        return Decision("insert", LinkKind.refines, new_is_source=False)
    return Decision("insert")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _polarity(tokens: list[str]) -> int:
    return sum(t in _NEGATORS or t.endswith("n't") for t in tokens) % 2


def _opposed(a: str, b: str) -> bool:
    """An odd number of flips: a negation, or a direction word swapped for its opposite.

    Two flips cancel: "larger kernels improve accuracy" agrees with "smaller kernels hurt accuracy".
    """
    ta, tb = _tokens(a), _tokens(b)
    flips = _polarity(ta) != _polarity(tb)
    sa, sb = set(ta), set(tb)
    for up, down in _OPPOSITES:
        flips += bool((sa & up and sb & down and not sb & up) or (sa & down and sb & up and not sb & down))
    return flips % 2 == 1


def _same_content(a: str, b: str, scope_words: set[str]) -> bool:
    """No name on one side only, and at most MAX_NEW_WORDS other words new on either side.

    The scope's names (a task, a space) may appear in one claim only: scope is compared on its own.
    """
    wa, wb = _content(a) - scope_words, _content(b) - scope_words
    new_a, new_b = wa - wb, wb - wa
    if any(_NAME.search(w) or len(w) <= 4 for w in new_a | new_b):
        return False
    return len(new_a) <= MAX_NEW_WORDS and len(new_b) <= MAX_NEW_WORDS


def _reordered(a: str, b: str) -> bool:
    """The names (short or symbolic words) both claims use come in another order in one of them."""
    na, nb = _names_in_order(a), _names_in_order(b)
    shared = set(na) & set(nb)
    return [w for w in na if w in shared] != [w for w in nb if w in shared]


def _names_in_order(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and (_NAME.search(w) or len(w) <= 4)]


def _content(text: str) -> set[str]:
    words = set()
    for word in _WORD.findall(text.lower()):
        if word not in _STOPWORDS:
            words.add(word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word)
    return words


def _numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(text))


def _scope(concept: ConceptBase) -> tuple[str | None, str | None]:
    return concept.task, concept.space


def _narrower(inner: tuple[str | None, str | None], outer: tuple[str | None, str | None]) -> bool:
    """inner fixes everything outer fixes, and more."""
    return inner != outer and all(o is None or o == i for i, o in zip(inner, outer, strict=True))
