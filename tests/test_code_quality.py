"""ruff and mypy run as part of the suite so style and type errors fail the build like any other."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

PACKAGES = ["core", "ingest", "index", "service", "evaluation", "tests", "bench"]


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", *PACKAGES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_layers_import_one_way() -> None:
    """index/ and ingest/ never import service/; index/ never imports ingest/."""
    offenders = []
    rules = (("index", ("service", "ingest", "evaluation")), ("ingest", ("service", "evaluation")),
             ("core", ("service", "ingest", "index", "evaluation")))
    for package, banned in rules:
        for path in (ROOT / package).rglob("*.py"):
            for line in path.read_text().splitlines():
                stripped = line.strip()
                if stripped.startswith(tuple(f"{kw} {b}" for b in banned for kw in ("import", "from"))):
                    offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []
