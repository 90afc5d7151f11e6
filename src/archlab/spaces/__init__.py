"""Search spaces as grammars: parse a grammar, sample and mutate derivations, compile them to PyTorch.

    space = load_space("seq1d")
    tree = space.sample(random.Random(0))
    source = space.compile(tree)   # a module defining build_model(task) -> nn.Module

See README.md in this folder for the grammar format. Imports nothing from other archlab packages
except archlab.errors, and torch only inside generated code.
"""

from archlab.spaces.blocks import Block, BlockRegistry, Param
from archlab.spaces.compile import compile_source
from archlab.spaces.crossover import crossover
from archlab.spaces.derivation import Node, canonical_hash, summary
from archlab.spaces.encoding import Encoder, encode, feature_names
from archlab.spaces.grammar import Grammar, parse_grammar
from archlab.spaces.library1d import seq1d_blocks
from archlab.spaces.mutate import MOVES, mutate, mutate_with_move
from archlab.spaces.problems import GrammarProblems, Problem
from archlab.spaces.sample import sample_tree
from archlab.spaces.space import Space, list_spaces, load_space
from archlab.spaces.syntax import Limits
from archlab.spaces.treecheck import check_tree

__all__ = [
    "MOVES",
    "Block",
    "BlockRegistry",
    "Encoder",
    "Grammar",
    "GrammarProblems",
    "Limits",
    "Node",
    "Param",
    "Problem",
    "Space",
    "canonical_hash",
    "check_tree",
    "compile_source",
    "crossover",
    "encode",
    "feature_names",
    "list_spaces",
    "load_space",
    "mutate",
    "mutate_with_move",
    "parse_grammar",
    "sample_tree",
    "seq1d_blocks",
    "summary",
]
