from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import ROOT, SeedIndex


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)


def test_ask_prints_answer_and_source(seed_index: SeedIndex) -> None:
    proc = run("ask", "When was the Manchester joint centre founded?", "--data", str(seed_index.data_dir))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("2014")
    assert "pkuhsc-manchester-joint-webinar.txt" in proc.stdout


def test_ask_abstains_in_words(seed_index: SeedIndex, capsys: pytest.CaptureFixture[str]) -> None:
    """In-process (the command above already starts a fresh interpreter): the same ``main`` a shell runs."""
    code = main(["ask", "Who won the 2022 football World Cup?", "--data", str(seed_index.data_dir)])
    assert code == 0 and capsys.readouterr().out.startswith("No answer in the articles")


def test_ingest_reports_summary_and_skips_bad_files(tmp_path: Path, seed_index: SeedIndex) -> None:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    shutil.copytree(seed_index.data_dir, data)
    (articles / "broken.txt").write_bytes(b"\x00\x00binary")
    (articles / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    proc = run("ingest", str(articles), "--data", str(data))
    assert proc.returncode == 3
    assert "unchanged 2" in proc.stdout
    assert "skipped broken.txt: looks like a binary file" in proc.stderr
    assert "skipped latin.txt: not valid UTF-8" in proc.stderr


def test_ingest_empty_folder_fails_clearly(tmp_path: Path, seed_index: SeedIndex) -> None:
    empty, data = tmp_path / "empty", tmp_path / "data"
    empty.mkdir()
    shutil.copytree(seed_index.data_dir, data)
    proc = run("ingest", str(empty), "--data", str(data))
    assert proc.returncode == 1
    assert "error: no articles could be read" in proc.stderr and "nothing was changed" in proc.stderr


def test_missing_folder_and_no_snapshot(tmp_path: Path) -> None:
    proc = run("ingest", str(tmp_path / "nope"), "--data", str(tmp_path / "data"))
    assert proc.returncode == 1 and "not a folder" in proc.stderr
    proc = run("ask", "anything?", "--data", str(tmp_path / "data"))
    assert proc.returncode == 1 and "no loadable snapshot" in proc.stderr
