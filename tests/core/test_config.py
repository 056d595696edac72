"""Settings are grouped by concern but keep one flat namespace of ``ARTICLE_QA_*`` variables."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import Settings, explain_invalid
from tests.conftest import ROOT


def test_each_group_reads_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_GENERATOR_MODEL", "qwen2.5-1.5b")
    monkeypatch.setenv("ARTICLE_QA_RETRIEVAL_CANDIDATES", "7")
    monkeypatch.setenv("ARTICLE_QA_FEEDS", "http://a.example/feed.xml, http://b.example/feed.xml")
    monkeypatch.setenv("ARTICLE_QA_CONVERSATION_REWRITER", "none")
    monkeypatch.setenv("ARTICLE_QA_INDEX_BACKEND", "milvus")
    settings = Settings()
    assert settings.generator.model == "qwen2.5-1.5b" and settings.retrieval.candidates == 7
    assert settings.feed.urls == ["http://a.example/feed.xml", "http://b.example/feed.xml"]
    assert settings.question.rewriter == "none" and settings.index.backend == "milvus"


def test_every_variable_is_unique_and_prefixed() -> None:
    variables = Settings.variables()
    assert all(re.fullmatch(r"ARTICLE_QA_[A-Z0-9_]+", v) for v in variables)
    places = list(variables.values())
    assert len(set(places)) == len(places) == len(variables)
    assert {"ARTICLE_QA_GENERATOR_MODEL", "ARTICLE_QA_FUSION", "ARTICLE_QA_DATA_DIR"} <= set(variables)


def test_flat_names_reach_their_group_and_the_environment_fills_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_GENERATOR_THREADS", "3")
    settings = Settings(generator_model="custom.gguf", data_dir=Path("d"))
    assert settings.generator.model == "custom.gguf" and settings.generator.threads == 3
    assert settings.data_dir == Path("d")
    changed = settings.override(fusion="convex", generator_max_tokens=12)
    assert changed.retrieval.fusion == "convex" and changed.generator.max_tokens == 12
    assert changed.generator.model == "custom.gguf" and settings.retrieval.fusion == "rrf"


def test_unknown_names_and_bad_choices_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown setting 'fuson'"):
        Settings(fuson="rrf")
    with pytest.raises(ValueError, match="unknown setting"):
        Settings().override(answer_mod="auto")
    with pytest.raises(ValidationError) as caught:
        Settings(answer_mode="creative")
    assert "answer_mode" in str(caught.value)


def test_a_bad_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert explain_invalid(caught.value) == "ARTICLE_QA_LOG_FORMAT: Input should be 'json' or 'text' (got 'xml')"


def test_the_cli_refuses_a_bad_variable_with_a_message() -> None:
    env = {"PATH": "/usr/bin:/bin", "ARTICLE_QA_FUSION": "best", "HOME": str(Path.home())}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "ask", "When?"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: invalid setting: ARTICLE_QA_FUSION: Input should be 'rrf' or 'convex' " \
                                  "(got 'best')"


def test_no_code_outside_the_settings_reads_article_qa_variables() -> None:
    """Settings come from one object; only the model cache folder is read before settings exist."""
    readers = []
    for path in ROOT.glob("[!.]*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"tests", "bench", "scripts"} or path.name == "config.py":
            continue
        if re.search(r"environ(?:\.get)?[\[(]\s*[\"']ARTICLE_QA_", path.read_text()):
            readers.append(path.relative_to(ROOT).as_posix())
    assert readers == ["qa/generation/models.py"]
