"""The package layout of DESIGN.md: folders mapped into archlab.*, imports pointing one way."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"archlab": "archlab", "agents": "agents", "sandbox": "sandbox", "knowledge": "knowledge",
           "evaluator": "evaluator", "spaces": "spaces"}
# What each package may import from archlab (errors.py is the shared leaf every package may use).
ALLOWED = {
    "spaces": set(),
    "knowledge": set(),
    "evaluator": {"spaces"},
    "sandbox": {"evaluator"},
    "agents": {"evaluator", "knowledge", "sandbox", "spaces"},
    "archlab": {"agents", "evaluator", "knowledge", "sandbox", "spaces"},
}


def archlab_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "archlab" and len(parts) > 1 and parts[1] in FOLDERS and parts[1] != "archlab":
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package):
    for path in (ROOT / FOLDERS[package]).rglob("*.py"):
        wrong = archlab_imports(path) - ALLOWED[package] - {package}
        assert not wrong, f"{path.relative_to(ROOT)} imports archlab.{', archlab.'.join(sorted(wrong))}"


def test_errors_module_is_a_leaf():
    assert archlab_imports(ROOT / "archlab" / "errors.py") == set()


def test_wheel_holds_every_package_and_the_grammars(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    names = zipfile.ZipFile(next(tmp_path.glob("archlab-*.whl"))).namelist()
    for package in ("agents", "sandbox", "knowledge", "evaluator", "evaluator/tasks", "spaces"):
        assert f"archlab/{package}/__init__.py" in names
    assert "archlab/spaces/builtin/seq1d.grammar" in names
    assert "archlab/cli.py" in names and "archlab/sandbox/worker.py" in names
