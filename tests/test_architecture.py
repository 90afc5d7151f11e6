"""The package layout of DESIGN.md: one import tree under src/archlab, imports pointing one way between its
rooms (the shell's rooms included), and a wheel and an editable install that both carry everything."""

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import layout  # noqa: E402 - scripts/layout.py holds the arrows and measures them

PACKAGE = ROOT / "src" / "archlab"
ROOMS = sorted({layout.room_of(path) for path in PACKAGE.rglob("*.py")})


def test_every_room_has_rules():
    assert set(ROOMS) <= set(layout.ALLOWED), set(ROOMS) - set(layout.ALLOWED)
    for room in ("agents", "sandbox", "evaluator", "store", "memory", "spaces", "cli", "run", "report", "bench",
                 "web"):
        assert (PACKAGE / room / "__init__.py").is_file(), room


@pytest.mark.parametrize("room", ROOMS)
def test_imports_point_one_way(room):
    for path in PACKAGE.rglob("*.py"):
        if layout.room_of(path) != room:
            continue
        wrong = layout.imported_rooms(path) - layout.ALLOWED[room] - {room}
        assert not wrong, f"{path.relative_to(ROOT)} imports archlab.{', archlab.'.join(sorted(wrong))}"


def test_the_checker_sees_every_import_form(tmp_path, monkeypatch):
    """Relative imports, `from archlab import x` and plain `import archlab.x.y` all count."""
    fake = tmp_path / "archlab"
    (fake / "web").mkdir(parents=True)
    source = ("import archlab.spaces.grammar\nfrom archlab import cli\nfrom ..run import lifecycle\n"
              "from . import pages\n")
    (fake / "web" / "routes.py").write_text(source)
    monkeypatch.setattr(layout, "PACKAGE", fake)
    assert layout.imported_rooms(fake / "web" / "routes.py") == {"spaces", "cli", "run", "web"}


def test_nothing_below_the_shell_imports_it():
    below = {"agents", "sandbox", "evaluator", "store", "memory", "spaces"}
    shell = {"cli", "run", "report", "bench", "web"}
    for room in below:
        assert not layout.ALLOWED[room] & shell, room
    assert "cli" not in layout.ALLOWED["web"] and "cli" not in layout.ALLOWED["run"]
    assert not layout.ALLOWED["run"] & {"report", "web", "bench", "cli"}  # a run writes no report files


def test_errors_module_is_a_leaf():
    assert layout.imported_rooms(PACKAGE / "errors.py") == set()


def test_the_layout_script_reports_no_violation():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "layout.py")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout
    assert "largest function" in result.stdout


def test_no_folder_mapping_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    assert "package-dir" not in text and 'where = ["src"]' in text
    assert not any((ROOT / name).exists() for name in ("agents", "sandbox", "evaluator", "knowledge", "spaces",
                                                        "archlab"))


def test_the_installed_package_is_this_checkout():
    spec = importlib.util.find_spec("archlab")
    assert spec is not None and Path(spec.origin).resolve() == PACKAGE / "__init__.py"


def test_wheel_holds_every_package_and_the_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    names = zipfile.ZipFile(next(tmp_path.glob("archlab-*.whl"))).namelist()
    for package in ("agents", "agents/roles/planner", "sandbox", "store", "store/migrations", "memory", "evaluator",
                    "evaluator/tasks", "spaces", "cli", "run", "report", "bench", "web"):
        assert f"archlab/{package}/__init__.py" in names, package
    for data in ("spaces/builtin/seq1d.grammar", "memory/literature_seeds.jsonl", "store/migrations/script.py.mako",
                 "agents/prompts/planner.j2", "agents/prompts/chat/system.j2", "report/templates/report.html.j2",
                 "report/templates/report/cards.html.j2", "web/templates/base.html"):
        assert f"archlab/{data}" in names, data
    assert "archlab/cli/main.py" in names and "archlab/sandbox/worker.py" in names
    assert not any(name.startswith(("agents/", "knowledge/", "tests/")) for name in names)


def test_ruff_rules_hold():
    """Lint, sorted imports and no print outside cli/ (T201), as pyproject.toml configures them."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "src", "tests", "scripts", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_print_outside_the_cli_is_refused(tmp_path):
    """The T201 rule is live: a print in a library module fails the check, the same print in cli/ does not."""
    ruff = Path(sys.executable).with_name("ruff")
    for rel, expected in (("src/archlab/report/x.py", 1), ("src/archlab/cli/x.py", 0)):
        result = subprocess.run([str(ruff), "check", "--no-cache", "--stdin-filename", rel, "-"], cwd=ROOT,
                                input='print("hi")\n', capture_output=True, text=True, timeout=60)
        assert result.returncode == expected, (rel, result.stdout)
