"""The word lists are data with a meaning each, every one read by a stage, and a broken file fails loudly."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from qa import lexicon
from qa.grounding import locate

QA_DIR = Path(lexicon.__file__).parent
ROOT = QA_DIR.parent


def test_every_list_has_a_meaning_and_clean_words() -> None:
    lists = lexicon.load()
    assert len(lists) >= 15
    for entry in lists.values():
        assert len(entry.meaning.split()) >= 4
        assert all(w == w.strip().lower() and w for w in entry.words), entry.name


def test_every_list_is_read_by_a_stage() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in QA_DIR.rglob("*.py") if p.name != "lexicon.py")
    unread = [name for name in lexicon.load() if f'"{name}"' not in sources]
    assert unread == []


def test_ordered_lists_keep_their_order() -> None:
    wh = lexicon.in_order("question_words")
    assert wh.index("how many") < wh.index("how")
    numbers = lexicon.in_order("number_words")
    assert numbers[0] == "zero" and numbers[5] == "five" and numbers[20] == "twenty"
    assert locate("5", "They signed five agreements.") == (12, 16)


def test_a_list_with_a_repeated_word_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "lexicon.json"
    broken.write_text(json.dumps({"determiners": {"meaning": "articles", "words": ["the", "the"]}}),
                      encoding="utf-8")
    with pytest.raises(ValueError, match="determiners"):
        lexicon.load(broken)


def test_the_file_ships_with_the_package() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert lexicon.LEXICON_PATH.name in data["tool"]["setuptools"]["package-data"]["qa"]
