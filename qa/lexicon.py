"""The English word lists the answering stages read, kept as data in ``lexicon.json`` with what each one means.

A list is data, not code: its meaning sits beside its words, and a change to a list is a change to one file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("lexicon.json")


@dataclass(frozen=True)
class WordList:
    """One named list: ``ordered`` lists are read in order (longest phrase first, or a number's index)."""

    name: str
    meaning: str
    ordered: bool
    words: tuple[str, ...]


@cache
def load(path: Path = LEXICON_PATH) -> dict[str, WordList]:
    """Every list in the file, checked once: a meaning, at least one word, no word twice."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    lists = {}
    for name, entry in raw.items():
        words = tuple(entry["words"])
        if not entry.get("meaning") or not words or len(set(words)) != len(words):
            raise ValueError(f"{path.name}: list {name!r} needs a meaning and distinct words")
        lists[name] = WordList(name, entry["meaning"], bool(entry.get("ordered", False)), words)
    return lists


def in_order(name: str) -> tuple[str, ...]:
    """An ordered list's words, in the order the file gives them."""
    return load()[name].words


def word_set(name: str) -> frozenset[str]:
    """A list's words as a set, for membership tests."""
    return frozenset(load()[name].words)
