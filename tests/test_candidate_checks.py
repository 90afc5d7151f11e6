import torch
from torch import nn

from archlab.evaluator.candidate import static_check
from archlab.evaluator.fingerprint import graph_hash, probe_hash

GOOD = "import torch\nfrom torch import nn\n\ndef build_model(task):\n    return nn.Linear(40, 10)\n"


def test_static_check_accepts_a_plain_model():
    assert static_check(GOOD) == []


def test_static_check_reports_each_problem_with_its_line():
    source = "import os\nimport subprocess as sp\n\ndef build(task):\n    return eval('1')\n"
    problems = static_check(source)
    assert "line 1: import of os is not allowed" in problems
    assert "line 2: import of subprocess is not allowed" in problems
    assert "line 5: call to eval() is not allowed" in problems
    assert "no top-level function build_model(task)" in problems


def test_static_check_syntax_error():
    assert static_check("def build_model(:\n")[0].startswith("syntax error at line 1")


class Named(nn.Module):
    def __init__(self, hidden: int, width: int = 16):
        super().__init__()
        self.first, self.second = nn.Linear(8, width), nn.Linear(width, hidden)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


class Renamed(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.a, self.b = nn.Linear(8, 16), nn.Linear(16, hidden)

    def forward(self, inputs):
        h = self.a(inputs)
        return self.b(torch.relu(h))


def test_graph_hash_ignores_names_but_not_structure():
    assert graph_hash(Named(4)) == graph_hash(Renamed(4))
    assert graph_hash(Named(4))[1] == "fx"
    assert graph_hash(Named(4)) != graph_hash(Named(5))
    assert graph_hash(Named(4)) != graph_hash(Named(4, width=32))


def test_probe_hash_depends_on_weights():
    torch.manual_seed(0)
    first = probe_hash(Named(4), (8,), torch.device("cpu"))
    torch.manual_seed(0)
    assert probe_hash(Renamed(4), (8,), torch.device("cpu")) == first
    torch.manual_seed(1)
    assert probe_hash(Named(4), (8,), torch.device("cpu")) != first
