"""ruff and mypy run as part of the suite so style and type errors fail the build like any other."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ["core", "ingest", "index", "qa", "service", "evaluation", "cli", "tests", "bench", "scripts"]


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_complexity_and_magic_values_are_checked() -> None:
    """The ruff run above enforces a complexity ceiling of 15 and named constants outside the tests."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"C90", "PLR2004"} <= set(lint["select"])
    assert lint["mccabe"]["max-complexity"] <= 15
    assert set(lint.get("per-file-ignores", {})) <= {"tests/**"}
    assert not {"C90", "C901", "PLR2004"} & set(lint.get("ignore", []))


def test_mypy_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_layers_import_one_way() -> None:
    """import-linter checks the contracts in pyproject.toml: lower layers never import higher ones, the
    answering stages, evaluation, ingest and index never import the web framework, and no two answering
    stages import each other in a cycle."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout
    assert "No import cycles among the answering stages KEPT" in proc.stdout
