"""What an install brings: declared dependencies only, and a wheel that works outside the checkout.

The import check walks every ``import`` in ``vgpred/``, ``benchmarks/`` and
``tests/`` (inside functions too) and looks each third-party module up in the
installed distributions: the distribution that provides it must be one vgpred's
metadata declares. A module that is importable only because another package pulled
it in (click through an older typer, numpy through torch) fails the check.
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from conftest import FASHION_MNIST

REPO = Path(__file__).resolve().parent.parent
CPU = ("--device", "cpu")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements() -> dict[str, str | None]:
    """Canonical distribution name -> the extra that declares it (None: a core dependency)."""
    declared: dict[str, str | None] = {}
    for line in md.requires("vgpred") or []:
        name = _canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group(0))
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", line)
        if extra is None or name not in declared:
            declared[name] = None if extra is None else extra.group(1)
    return declared


def imported_modules(root: Path) -> dict[str, list[str]]:
    """Top-level module name -> the places (``file:line``) under ``root`` that import it."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def local_modules(root: Path) -> set[str]:
    """Scripts and packages a folder imports by its own path (benchmarks' helpers, tests' conftest)."""
    return {p.stem for p in root.rglob("*.py")} | {p.parent.name for p in root.rglob("__init__.py")}


def undeclared_imports(root: Path, allowed_extras: set[str] | None, local: set[str] = frozenset()) -> list[str]:
    """One line per third-party import under ``root`` whose distribution is not declared.

    ``allowed_extras``: the extras whose packages may be imported there (None: any); ``local``:
    more modules of this checkout that code under ``root`` imports by their path.
    """
    providers = md.packages_distributions()
    declared = declared_requirements()
    ignore = set(sys.stdlib_module_names) | {"vgpred"} | local_modules(root) | set(local)
    problems = []
    for module, places in sorted(imported_modules(root).items()):
        if module in ignore:
            continue
        dists = [_canonical(d) for d in providers.get(module, [])]
        ok = [d for d in dists if d in declared and (declared[d] is None or allowed_extras is None
                                                      or declared[d] in allowed_extras)]
        if not ok:
            what = f"provided by {', '.join(dists)}" if dists else "not installed"
            problems.append(f"{module} ({what}) imported at {places[0]} is not a declared dependency")
    return problems


def test_the_package_imports_only_its_dependencies():
    extras = {e for e in declared_requirements().values() if e is not None} - {"test"}
    assert undeclared_imports(REPO / "vgpred", allowed_extras=extras) == []


def test_benchmarks_and_tests_import_only_declared_packages():
    assert undeclared_imports(REPO / "benchmarks", allowed_extras=None) == []
    # tests import their own package (tests.conftest) and the benchmark scripts they test (by path)
    local = {"tests"} | local_modules(REPO / "benchmarks")
    assert undeclared_imports(REPO / "tests", allowed_extras=None, local=local) == []


def test_the_check_names_an_undeclared_import(tmp_path, monkeypatch):
    # A stand-in tree that imports click, which vgpred does not declare (typer no longer needs it).
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "cli.py").write_text("import os\nimport numpy\n\ndef main():\n    import click\n")
    problems = undeclared_imports(tmp_path / "pkg", allowed_extras=set())
    assert len(problems) == 1 and problems[0].startswith("click (") and "pkg/cli.py:5" in problems[0]


def test_the_wheel_lists_every_subpackage():
    packages = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "vgpred").rglob("__init__.py")}
    text = (REPO / "pyproject.toml").read_text()
    listing = re.search(r"\[tool\.setuptools\]\s*packages\s*=\s*\[(.*?)\]", text, re.S)
    listed = set(re.findall(r'"(vgpred[a-z_.]*)"', listing.group(1)))
    assert packages <= listed, f"add to [tool.setuptools] packages: {sorted(packages - listed)}"


def _fresh_venv_using_these_packages(path: Path) -> Path:
    """A new venv whose own site-packages comes first; the test environment's packages
    (torch and friends, not vgpred) are reachable through a .pth line, so the wheel's
    dependencies need not be installed again (several GB for torch)."""
    venv.EnvBuilder(with_pip=True).create(path)
    site = Path(subprocess.run([path / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "outer_site_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path / "bin"


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_predicts_and_trains(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    (wheel,) = wheels.glob("vgpred-*.whl")
    bin_dir = _fresh_venv_using_these_packages(tmp_path / "venv")
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", wheel],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args: object) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=work, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600)

    where = run(bin_dir / "python", "-c", "import vgpred; print(vgpred.__file__)")
    assert where.stdout.strip().startswith(str(tmp_path / "venv")), where.stdout + where.stderr

    photo = REPO / "assets" / "examples" / "street.jpg"
    predicted = run(bin_dir / "vgpred", "predict", photo, "-o", "future.mp4", "--seed", "0", *CPU)
    assert predicted.returncode == 0, predicted.stderr
    assert (work / "future.mp4").stat().st_size > 1000

    listed = run(bin_dir / "vgpred", "models")
    assert "scenes-motion (default)" in listed.stdout and "mfmnist-64" in listed.stdout, listed.stdout + listed.stderr

    made = run(bin_dir / "vgpred", "data", "moving-mnist", "clips", "--idx", FASHION_MNIST, "--num", 4,
               "--size", 64, "--frames", 16, "--no-progress")
    assert made.returncode == 0, made.stderr
    trained = run(bin_dir / "vgpred", "train", "--mode", "image", "--data", "clips", "--config", "cpu-small",
                  "--out", "runs", "train.steps=1", "train.batch_size=2", "model.channels=1", "train.device=cpu",
                  "train.num_workers=0", "train.bn_recalibrate=0")
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = (work / "runs").iterdir()
    assert (run_dir / "export" / "model.safetensors").is_file()
