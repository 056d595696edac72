"""One runner per benchmark, chosen by name; each indexes its corpus, asks its questions and scores them."""

from __future__ import annotations

import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from core.config import Settings
from evaluation import metrics as m
from evaluation.datasets import Dataset, EvalQuestion, load
from evaluation.plain import PlainPipeline
from index.backends import backend_for
from index.embedding import get_embedder
from index.retriever import ScoredChunk, SearchFilters
from ingest.cleaning import slugify
from ingest.pipeline import build_snapshot
from qa.pipeline import AnswerPipeline
from qa.records import Answer, AnswerMode, Turn

Progress = Callable[[int, int], None]


class Asker(Protocol):
    """What a benchmark asks: the answering pipeline, or the plain baseline it is compared with."""

    def ask(self, question: str, top_k: int | None = None, filters: SearchFilters | None = None,
            mode: AnswerMode | str | None = None, as_of: date | None = None,
            history: tuple[Turn, ...] = ()) -> Answer: ...

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[ScoredChunk]: ...


@dataclass
class EvalOptions:
    dataset: str
    mode: AnswerMode = AnswerMode.EXTRACTIVE
    sample: int | None = None
    seed: int = 0
    corpus_limit: int | None = None
    top_k: int = 10
    oracle: bool = True
    noise: tuple[float, ...] | None = None


@dataclass
class EvalReport:
    dataset: str
    options: dict[str, Any]
    metrics: dict[str, Any]
    latency_ms: dict[str, dict[str, float]]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    index: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "options": self.options, "metrics": self.metrics,
                "latency_ms": self.latency_ms, "index": self.index, "predictions": self.predictions}


def _latency(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for timing in samples:
        for k, v in timing.items():
            stages.setdefault(k, []).append(v)
        stages.setdefault("total", []).append(sum(v for k, v in timing.items() if k != "first_token"))
    out = {}
    for k, values in stages.items():
        values.sort()
        out[k] = {"p50": round(values[len(values) // 2], 1), "p95": round(values[min(len(values) - 1,
                                                                                   int(len(values) * 0.95))], 1)}
    return out


def ranked_articles(hits: list[ScoredChunk]) -> list[str]:
    return list(dict.fromkeys(h.article.id for h in hits))


class Runner(ABC):
    """Index the dataset's documents once (cached by content), then answer and score."""

    def __init__(self, settings: Settings, dataset: Dataset, options: EvalOptions,
                 generator: Callable[[], Any] | None = None) -> None:
        self.settings = settings
        self.dataset = dataset
        self.options = options
        self.generator = generator
        self.rng = random.Random(options.seed)
        self.questions = self.select_questions()
        self.doc_to_article: dict[str, str] = {}

    def select_questions(self) -> list[EvalQuestion]:
        questions = list(self.dataset.questions)
        if self.options.sample and self.options.sample < len(questions):
            questions = sorted(self.rng.sample(questions, self.options.sample), key=lambda q: q.id)
        return questions

    def corpus_records(self) -> list[dict[str, Any]]:
        records = self.dataset.document_records()
        if self.options.corpus_limit is None:
            return records
        needed = set().union(*(self.docs_needed(q) for q in self.questions)) if self.questions else set()
        chosen = [r for r in records if r["id"] in needed]
        others = [r for r in records if r["id"] not in needed]
        self.rng.shuffle(others)
        return chosen + others[: self.options.corpus_limit]

    def docs_needed(self, question: EvalQuestion) -> set[str]:
        return set(question.gold_docs)

    def build_index(self, progress: Progress | None = None) -> AnswerPipeline:
        suffix = "" if self.options.corpus_limit is None else f"-subset-{self.options.seed}-{self.options.corpus_limit}"
        root = self.settings.eval_dir / f"{self.dataset.name}{suffix}"
        articles_dir = self.articles_folder(root)
        prefix = f"{self.settings.milvus.collection}_eval_{self.dataset.name}{suffix}".replace("-", "_")
        settings = self.settings.override(articles_dir=articles_dir, data_dir=root / "data", keep_snapshots=1,
                                          milvus_keep_collections=1, milvus_collection=prefix)

        def report(stage: str, done: int, total: int) -> None:
            if progress and stage == "embedding":
                progress(done, total)

        build_snapshot(articles_dir, settings.data_dir, settings, report)
        loaded, _ = backend_for(settings).load_latest()
        self.index_info = {"version": loaded.version, **loaded.manifest.get("counts", {})}
        return AnswerPipeline(loaded, get_embedder(settings.embedding.model, settings.threads), self.settings,
                        self.generator)

    def articles_folder(self, root: Path) -> Path:
        """The dataset's documents as an articles folder the ingest pipeline reads (one JSONL file)."""
        records = self.corpus_records()
        articles_dir = root / "articles"
        articles_dir.mkdir(parents=True, exist_ok=True)
        target = articles_dir / "documents.jsonl"
        if self.options.corpus_limit is None:
            if not target.is_symlink():
                target.unlink(missing_ok=True)
                target.symlink_to(self.dataset.documents.resolve())
        else:
            target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        self.doc_to_article = {str(r["id"]): slugify(str(r["id"])) for r in records}
        return articles_dir

    def gold_articles(self, question: EvalQuestion) -> set[str]:
        return {self.doc_to_article.get(d, slugify(d)) for d in question.gold_docs}

    @abstractmethod
    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport: ...

    def prediction(self, q: EvalQuestion, result: Answer, **extra: Any) -> dict[str, Any]:
        em, f1 = m.answer_scores(result.answer, q.answers)
        return {
            "id": q.id, "question": q.question, "gold": list(q.answers), "answerable": q.answerable,
            "prediction": result.answer, "abstained": result.abstained, "confidence": result.confidence,
            "em": em, "f1": f1, "reason": result.reason,
            "citations": [asdict(c) for c in result.citations],
            "retrieved": ranked_articles(list(result.hits)), "signals": result.signals.as_dict(),
            "features": result.features,
            "candidates": list(result.candidates),
            "timings_ms": result.timings_ms, "mode": result.mode,
            **extra,
        }

    def plain(self, pipeline: AnswerPipeline) -> PlainPipeline:
        """The plain baseline over the same index and generator."""
        if self.generator is None:
            raise ValueError("the plain baseline needs the generator (--mode generative)")
        return PlainPipeline(pipeline.snapshot, pipeline.embedder, self.settings, self.generator)

    def base_report(self, metrics: dict[str, Any], predictions: list[dict[str, Any]]) -> EvalReport:
        mode = "plain" if predictions and predictions[0].get("mode") == "plain" else self.options.mode.value
        options = {"mode": mode, "sample": self.options.sample, "seed": self.options.seed,
                   "corpus_limit": self.options.corpus_limit, "questions": len(self.questions),
                   "abstain_threshold": self.settings.decision.abstain_threshold}
        return EvalReport(self.dataset.name, options, metrics,
                          _latency([p["timings_ms"] for p in predictions if p.get("timings_ms")]), predictions,
                          getattr(self, "index_info", {}))


def _answer_metrics(predictions: list[dict[str, Any]]) -> dict[str, float]:
    answerable = [p for p in predictions if p["answerable"]]
    unanswerable = [p for p in predictions if not p["answerable"]]
    abstained = [p for p in predictions if p["abstained"]]
    out = {
        "em": 100 * m.mean(p["em"] for p in predictions),
        "f1": 100 * m.mean(p["f1"] for p in predictions),
        "answered_pct": 100 * (1 - len(abstained) / max(1, len(predictions))),
    }
    if answerable and unanswerable:
        out["answerable_f1"] = 100 * m.mean(p["f1"] for p in answerable)
        out["answerable_em"] = 100 * m.mean(p["em"] for p in answerable)
        out["abstention_precision"] = 100 * (sum(not p["answerable"] for p in abstained) / len(abstained)
                                             if abstained else float("nan"))
        out["abstention_recall"] = 100 * m.mean(float(p["abstained"]) for p in unanswerable)
        out["abstention_accuracy"] = 100 * m.mean(float(p["abstained"] == (not p["answerable"])) for p in predictions)
    return {k: round(v, 2) for k, v in out.items()}


def error_analysis(predictions: list[dict[str, Any]], found_key: str) -> dict[str, int]:
    """Counts of wrong predictions by cause: retrieval miss, reading error, wrong abstention, false answer."""
    counts = {"correct": 0, "retrieval_miss": 0, "reading_error": 0, "wrong_abstention": 0, "answered_unanswerable": 0}
    for p in predictions:
        if not p["answerable"]:
            counts["correct" if p["abstained"] else "answered_unanswerable"] += 1
        elif p["right"] if "right" in p else p["f1"] >= m.CORRECT_F1:
            counts["correct"] += 1
        elif not p.get(found_key):
            counts["retrieval_miss"] += 1
        elif p["abstained"]:
            counts["wrong_abstention"] += 1
        else:
            counts["reading_error"] += 1
    return counts


class NewsRunner(Runner):
    """RealTime QA: every question asked "as of" its date over all 1,668 articles."""

    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport:
        predictions = []
        for i, q in enumerate(self.questions):
            as_of = date.fromisoformat(q.as_of) if q.as_of else None
            result = answerer.ask(q.question, self.options.top_k, SearchFilters(published_before=as_of),
                                  self.options.mode, as_of=as_of)
            gold = self.gold_articles(q)
            ranked = ranked_articles(list(result.hits))
            cited = {c.article_id for c in result.citations}
            predictions.append(self.prediction(
                q, result, gold_articles=sorted(gold),
                **{f"recall@{k}": m.recall_at(ranked, gold, k) for k in (1, 3, 5, 10)},
                rr=m.reciprocal_rank(ranked, gold), cited_gold=bool(cited & gold) if cited else None,
            ))
            if progress:
                progress(i + 1, len(self.questions))
        metrics: dict[str, Any] = dict(_answer_metrics(predictions))
        for k in (1, 3, 5, 10):
            metrics[f"recall@{k}"] = round(100 * m.mean(p[f"recall@{k}"] for p in predictions), 2)
        metrics["mrr"] = round(m.mean(p["rr"] for p in predictions), 4)
        answered = [p for p in predictions if not p["abstained"]]
        metrics["citation_in_gold_pct"] = round(100 * m.mean(float(bool(p["cited_gold"])) for p in answered), 2) \
            if answered else float("nan")
        metrics["answer_in_quote_pct"] = round(100 * m.mean(
            float(any(p["prediction"] in c["quote"] for c in p["citations"])) for p in answered), 2) \
            if answered else float("nan")
        metrics["errors"] = error_analysis(predictions, "recall@10")
        return self.base_report(metrics, predictions)


class OfficeRunner(Runner):
    """The office's own kind of articles and questions (the seed set, campus-news): every question, then each
    conversation's turns in order with the earlier turns as history, scored by the office rule (the answer
    contains a listed string)."""

    def articles_folder(self, root: Path) -> Path:
        folders = self.dataset.article_folders
        if len(folders) == 1:
            return folders[0]
        articles_dir = root / "articles"
        articles_dir.mkdir(parents=True, exist_ok=True)
        wanted = {f.name: f for folder in folders for f in sorted(folder.iterdir()) if f.is_file()}
        for stale in articles_dir.iterdir():
            if stale.name not in wanted:
                stale.unlink()
        for name, source in wanted.items():
            target = articles_dir / name
            if not target.is_file() or target.read_bytes() != source.read_bytes():
                target.write_bytes(source.read_bytes())
        return articles_dir

    def score(self, q: EvalQuestion, result: Answer, **extra: Any) -> dict[str, Any]:
        ranked = ranked_articles(list(result.hits))
        right = m.office_right(result.answer, q.extra.get("listed", q.answers), bool(q.extra.get("match_all")))
        return self.prediction(q, result, found=bool(set(ranked[:3]) & self.gold_articles(q)) or not q.gold_docs,
                               right=right, listed=list(q.extra.get("listed", q.answers)),
                               match_all=bool(q.extra.get("match_all")), **extra)

    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport:
        predictions = []
        total = len(self.questions) + sum(len(c.turns) for c in self.dataset.conversations)
        done = 0
        for q in self.questions:
            predictions.append(self.score(q, answerer.ask(q.question, self.options.top_k, None, self.options.mode)))
            done += 1
            if progress:
                progress(done, total)
        for conversation in self.dataset.conversations:
            history: list[Turn] = []
            for turn, q in enumerate(conversation.turns, start=1):
                result = answerer.ask(q.question, self.options.top_k, None, self.options.mode,
                                      history=tuple(history))
                predictions.append(self.score(q, result, conversation=conversation.id, turn=turn,
                                              rewritten=result.rewritten_question))
                history.append(Turn(q.question, result.answer, tuple(c.article_id for c in result.citations),
                                    result.rewritten_question))
                done += 1
                if progress:
                    progress(done, total)
        return self.base_report(office_metrics(predictions), predictions)


def office_metrics(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Right counts by the office rule: questions, unanswerable ones abstained, follow-ups, plus SQuAD scores."""
    single = [p for p in predictions if "conversation" not in p]
    metrics: dict[str, Any] = dict(_answer_metrics(single))
    metrics["right"] = sum(p["right"] for p in single)
    metrics["questions"] = len(single)
    unanswerable = [p for p in single if not p["answerable"]]
    if unanswerable:
        metrics["unanswerable_abstained"] = sum(p["abstained"] for p in unanswerable)
        metrics["unanswerable"] = len(unanswerable)
    followups = [p for p in predictions if p.get("turn", 1) > 1]
    if followups:
        metrics["followups_right"] = sum(p["right"] for p in followups)
        metrics["followups"] = len(followups)
        metrics["first_turns_right"] = sum(p["right"] for p in predictions if p.get("turn") == 1)
    metrics["errors"] = error_analysis(predictions, "found")
    return metrics


class SquadRunner(Runner):
    """SQuAD 2.0 half: end to end over all 646 paragraphs, and with the gold paragraph given (oracle)."""

    def docs_needed(self, question: EvalQuestion) -> set[str]:
        return {question.extra.get("context_doc_id", "")} - {""}

    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport:
        predictions, oracle = [], []
        for i, q in enumerate(self.questions):
            result = answerer.ask(q.question, self.options.top_k, None, self.options.mode)
            context = self.doc_to_article.get(q.extra.get("context_doc_id", ""), "")
            ranked = ranked_articles(list(result.hits))
            predictions.append(self.prediction(q, result, context=context, top1=float(bool(ranked) and
                                                                                      ranked[0] == context)))
            if self.options.oracle:
                only = answerer.ask(q.question, self.options.top_k,
                                    SearchFilters(article_ids=frozenset({context})), self.options.mode)
                oracle.append(self.prediction(q, only))
            if progress:
                progress(i + 1, len(self.questions))
        metrics: dict[str, Any] = dict(_answer_metrics(predictions))
        answerable = [p for p in predictions if p["answerable"]]
        metrics["paragraph_top1_pct"] = round(100 * m.mean(p["top1"] for p in answerable), 2)
        metrics["errors"] = error_analysis(predictions, "top1")
        if oracle:
            metrics["oracle"] = _answer_metrics(oracle)
        report = self.base_report(metrics, predictions)
        for p, o in zip(report.predictions, oracle, strict=False):
            p["oracle"] = {k: o[k] for k in ("prediction", "abstained", "confidence", "em", "f1")}
        return report


class RgbRunner(Runner):
    """RGB: each question answered from its own passages only, at several noise rates."""

    NOISE = (0.0, 0.2, 0.4, 0.6, 0.8)
    PASSAGES = 5

    def docs_needed(self, question: EvalQuestion) -> set[str]:
        return set(question.gold_docs) | set(question.extra.get("negative_doc_ids", []))

    def rates(self) -> tuple[float, ...]:
        """Noise rates to run (1.0 = negatives only), all by default so the published table is complete."""
        return self.options.noise or (*self.NOISE, 1.0)

    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport:
        predictions = []
        total = len(self.questions) * len(self.rates())
        done = 0
        for q in self.questions:
            positives = sorted(q.gold_docs)
            negatives = sorted(q.extra.get("negative_doc_ids", []))
            rng = random.Random(f"{self.options.seed}-{q.id}")
            settings = [(rate, round(self.PASSAGES * rate)) for rate in self.rates()]
            for rate, n_neg in settings:
                n_neg = min(n_neg, len(negatives))
                n_pos = min(self.PASSAGES - n_neg, len(positives)) if rate < 1.0 else 0
                docs = rng.sample(positives, n_pos) + rng.sample(negatives, n_neg)
                ids = frozenset(self.doc_to_article.get(d, slugify(d)) for d in docs)
                result = answerer.ask(q.question, self.options.top_k, SearchFilters(article_ids=ids),
                                      self.options.mode)
                correct = (result.abstained if rate >= 1.0 else
                           result.answer is not None and m.contains_answer(result.answer, q.answers))
                predictions.append(self.prediction(q, result, noise=rate, passages=sorted(docs),
                                                   correct=float(correct)))
                done += 1
                if progress:
                    progress(done, total)
        metrics: dict[str, Any] = {}
        for rate in self.rates():
            rows = [p for p in predictions if p["noise"] == rate]
            key = "negative_rejection_pct" if rate >= 1.0 else f"accuracy_noise_{rate:.1f}"
            metrics[key] = round(100 * m.mean(p["correct"] for p in rows), 2)
        metrics["errors"] = rgb_errors(predictions)
        return self.base_report(metrics, predictions)


def rgb_errors(predictions: list[dict[str, Any]]) -> dict[str, int]:
    """RGB's rows by cause: a negatives-only row is a question its passages do not answer, and every other row
    was given at least one passage that does, so it cannot be a retrieval miss."""
    rows = [{**p, "answerable": p["noise"] < 1.0, "right": bool(p["correct"]), "given": True} for p in predictions]
    return error_analysis(rows, "given")


class BeirRunner(Runner):
    """BEIR SciFact train queries: retrieval only, nDCG@10 and Recall@100."""

    def run(self, answerer: Asker, progress: Progress | None = None) -> EvalReport:
        predictions: list[dict[str, Any]] = []
        for i, q in enumerate(self.questions):
            t = time.perf_counter()
            hits = answerer.search(q.question, 100)
            elapsed = (time.perf_counter() - t) * 1000
            ranked = [a for a in ranked_articles(hits)]
            relevance = {self.doc_to_article.get(d, slugify(d)): r for d, r in self.dataset.qrels[q.id].items()}
            predictions.append({"id": q.id, "question": q.question, "ranked": ranked[:10],
                                "ndcg@10": m.ndcg_at(ranked, relevance, 10),
                                "recall@100": m.fraction_recalled(ranked, relevance, 100),
                                "timings_ms": {"retrieve": elapsed}})
            if progress:
                progress(i + 1, len(self.questions))
        metrics = {"ndcg@10": round(m.mean(p["ndcg@10"] for p in predictions), 4),
                   "recall@100": round(m.mean(p["recall@100"] for p in predictions), 4)}
        return self.base_report(metrics, predictions)


RUNNERS: dict[str, type[Runner]] = {
    "realtimeqa-news": NewsRunner,
    "squad2-dev-half": SquadRunner,
    "rgb-en-fact": RgbRunner,
    "cmrc2018-dev": SquadRunner,
    "rgb-zh": RgbRunner,
    "seed-questions": OfficeRunner,
    "campus-news": OfficeRunner,
    "campus-news-zh": OfficeRunner,
    "beir-scifact": BeirRunner,
}


def runner_for(settings: Settings, options: EvalOptions, generator: Callable[[], Any] | None = None) -> Runner:
    dataset = load(options.dataset, settings.datasets_dir)
    return RUNNERS[options.dataset](settings, dataset, options, generator)


def write_report(report: EvalReport, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{report.dataset}-{report.options['mode']}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path


def markdown(report: EvalReport) -> str:
    lines = [f"### {report.dataset} ({report.options['mode']}, {report.options['questions']} questions)", "",
             "| metric | value |", "| --- | --- |"]
    for key, value in report.metrics.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                lines.append(f"| {key} {sub} | {v} |")
        else:
            lines.append(f"| {key} | {value} |")
    lines += ["", "| stage | p50 ms | p95 ms |", "| --- | --- | --- |"]
    lines += [f"| {k} | {v['p50']} | {v['p95']} |" for k, v in report.latency_ms.items()]
    return "\n".join(lines) + "\n"


def comparison(ours: EvalReport, plain: EvalReport) -> str:
    """The headline metrics of the pipeline and the plain baseline side by side, with the difference."""
    keys = [k for k, v in ours.metrics.items()
            if isinstance(v, int | float) and isinstance(plain.metrics.get(k), int | float)]
    lines = [f"### {ours.dataset}: pipeline ({ours.options['mode']}) against the plain baseline", "",
             "| metric | pipeline | plain | difference |", "| --- | --- | --- | --- |"]
    for k in keys:
        a, b = float(ours.metrics[k]), float(plain.metrics[k])
        lines.append(f"| {k} | {a:g} | {b:g} | {a - b:+.2f} |")
    return "\n".join(lines) + "\n"
