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
DATASETS = ("campus-news", "campus-news-zh", "seed-questions", "realtimeqa-news", "squad2-dev-half", "rgb-en-fact",
            "cmrc2018-dev", "rgb-zh", "beir-scifact")
SEED = "seed-questions"  # shared/eval/seed-questions.jsonl over the seed articles in shared/articles
OFFICE = ("campus-news", "campus-news-zh", SEED)  # the sets written like the office's own articles and questions


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    gold_docs: frozenset[str]
    as_of: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Conversation:
    """Turns asked in order, each after the ones before it as history (the second is a follow-up)."""

    id: str
    turns: tuple[EvalQuestion, ...]


@dataclass
class Dataset:
    name: str
    folder: Path
    questions: list[EvalQuestion]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)
    article_folders: tuple[Path, ...] = ()  # the office sets: folders of article files served together

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
    if name in {"campus-news", "campus-news-zh"}:
        return _campus(datasets_dir / name, datasets_dir.parent / "articles")
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


def _office_question(q: dict[str, Any], qid: str) -> EvalQuestion:
    """One office-style question. Scored by ``metrics.office_right`` on the listed strings (``listed``); for
    F1, answers a question lists with ``"match": "all"`` are joined, as a complete answer would give them."""
    listed = tuple(a for a in q.get("answers", []) if a)
    match_all = q.get("match") == "all"
    answers = (", ".join(listed),) if match_all and len(listed) > 1 else listed
    source = q.get("source")
    return EvalQuestion(qid, q["question"], answers, bool(q.get("answerable", bool(listed))),
                        frozenset({Path(source).stem} if source else ()),
                        extra={"listed": list(listed), "match_all": match_all})


def _seed(shared: Path) -> Dataset:
    """The seed questions over the two seed articles."""
    path = shared / "eval" / "seed-questions.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: set ARTICLE_QA_DATASETS_DIR to the shared/datasets folder")
    questions = [_office_question(q, str(q["id"])) for q in _jsonl(path)]
    return Dataset(SEED, shared / "articles", questions, article_folders=(shared / "articles",))


def _campus(folder: Path, seed_articles: Path) -> Dataset:
    """campus-news (or campus-news-zh): its questions and two-turn conversations over its articles and the seed
    articles together."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: set ARTICLE_QA_DATASETS_DIR to the shared/datasets folder")
    questions = [_office_question(q, str(q["id"])) for q in _jsonl(folder / "questions.jsonl")]
    conversations = []
    path = folder / "conversations.jsonl"
    for c in _jsonl(path) if path.is_file() else []:
        turns = tuple(_office_question(t, f"{c['id']}.{i + 1}") for i, t in enumerate(c["turns"]))
        conversations.append(Conversation(str(c["id"]), turns))
    return Dataset(folder.name, folder, questions, conversations=conversations,
                   article_folders=(seed_articles, folder / "articles"))
