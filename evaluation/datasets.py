"""Loaders for the benchmark folders in ``shared/datasets`` (read at run time, never copied)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_EXTRA = ("fake_answer", "negative_doc_ids", "counterfactual_doc_ids", "context_doc_id", "evidence_sentence",
          "answer_string_in_doc_ids")
DATASETS = ("realtimeqa-news", "squad2-dev-half", "rgb-en-fact", "beir-scifact", "seed-questions")
SEED = "seed-questions"  # shared/eval/seed-questions.jsonl over the seed articles in shared/articles


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    gold_docs: frozenset[str]
    as_of: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Dataset:
    name: str
    folder: Path
    questions: list[EvalQuestion]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def documents(self) -> Path:
        return self.folder / "documents.jsonl"

    def document_records(self) -> list[dict[str, Any]]:
        with open(self.documents, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load(name: str, datasets_dir: Path) -> Dataset:
    """One dataset's questions (and qrels for BEIR) in a common form."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == SEED:
        return _seed(datasets_dir.parent)
    folder = datasets_dir / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: set ARTICLE_QA_DATASETS_DIR to the shared/datasets folder")
    if name == "beir-scifact":
        qrels: dict[str, dict[str, int]] = defaultdict(dict)
        with open(folder / "qrels_train.tsv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                qrels[row["query-id"]][row["corpus-id"]] = int(row["score"])
        questions = [
            EvalQuestion(q["_id"], q["text"], (), True, frozenset(qrels.get(q["_id"], {})))
            for q in _jsonl(folder / "queries_train.jsonl") if q["_id"] in qrels
        ]
        return Dataset(name, folder, questions, dict(qrels))
    questions = []
    for q in _jsonl(folder / "questions.jsonl"):
        answers = tuple(dict.fromkeys(a for a in q.get("answers", []) if a))
        extra: dict[str, Any] = {k: q[k] for k in _EXTRA if k in q}
        questions.append(EvalQuestion(
            id=str(q["id"]), question=q["question"], answers=answers,
            answerable=bool(q.get("answerable", bool(answers))), gold_docs=frozenset(q.get("evidence_doc_ids", [])),
            as_of=q.get("question_date"), extra=extra,
        ))
    return Dataset(name, folder, questions)


def _seed(shared: Path) -> Dataset:
    """The seed questions: answers a question lists with ``"match": "all"`` must all appear, so their gold is
    the list joined, as a complete answer would give it."""
    path = shared / "eval" / "seed-questions.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: set ARTICLE_QA_DATASETS_DIR to the shared/datasets folder")
    questions = []
    for q in _jsonl(path):
        answers = tuple(a for a in q.get("answers", []) if a)
        if q.get("match") == "all" and len(answers) > 1:
            answers = (", ".join(answers),)
        source = q.get("source")
        questions.append(EvalQuestion(str(q["id"]), q["question"], answers, bool(answers),
                                      frozenset({Path(source).stem} if source else ())))
    return Dataset(SEED, shared / "articles", questions)
