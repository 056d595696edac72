"""article-qa's answers side by side with txtai's own RAG pipeline: same articles, questions, GGUF model, server.

txtai runs in the peers' venv (``bench/peers/run_rag.py``: its own paragraph segmentation, MiniLM embeddings
and RAG prompt), reading with the generator article-qa is configured with (``ARTICLE_QA_GENERATOR_MODEL``),
served by the same in-process llama.cpp server article-qa uses. article-qa runs ``article-qa eval <dataset>``
in its default mode (or a report of that command is reused with ``--reports``). Both are scored by the
dataset's own rule: the office sets by ``metrics.office_right`` (txtai's "I don't know" counts as an
abstention), the news set by answer F1.

    python -m bench.compare_rag --datasets campus-news,realtimeqa-news
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, save
from bench.compare_peers import ensure_venv
from core.config import Settings
from evaluation import metrics as m
from evaluation.datasets import OFFICE, Dataset, EvalQuestion
from evaluation.datasets import load as load_dataset
from qa.generation.local_server import start_server
from qa.generation.models import cache_dir, resolve

WORKER = ROOT / "bench" / "peers" / "run_rag.py"


def documents(dataset: Dataset) -> list[dict[str, Any]]:
    """The articles as a txtai user would index them: each file's text (its first line is the title), or the
    benchmark's records."""
    if dataset.article_folders:
        out = []
        for folder in dataset.article_folders:
            for path in sorted(folder.glob("*.txt")):
                text = path.read_text(encoding="utf-8")
                out.append({"id": path.stem, "title": text.strip().splitlines()[0], "date": None, "text": text})
        return out
    return [{"id": r["id"], "title": r.get("title", ""), "date": r.get("date"), "text": r["text"]}
            for r in dataset.document_records()]


def asked(dataset: Dataset) -> list[tuple[EvalQuestion, str]]:
    """Every question and follow-up as asked on its own (txtai's RAG takes one question, no history)."""
    kinds = [(q, "question") for q in dataset.questions]
    for c in dataset.conversations:
        kinds += [(q, "first turn" if i == 0 else "follow-up") for i, q in enumerate(c.turns)]
    return kinds


def score(q: EvalQuestion, answer: str | None, office: bool) -> float:
    if office:
        return float(m.office_right(answer, q.extra.get("listed", q.answers), bool(q.extra.get("match_all"))))
    return m.answer_scores(answer, q.answers)[1]


def txtai_answers(dataset: Dataset, python: Path, settings: Settings, work: Path, reuse: bool) -> dict[str, Any]:
    """txtai's answers, made in the peers' venv (or read back from ``work`` with ``reuse``)."""
    if reuse and (work / "answers-txtai.json").is_file():
        kept: dict[str, Any] = json.loads((work / "answers-txtai.json").read_text(encoding="utf-8"))
        return kept
    work.mkdir(parents=True, exist_ok=True)
    docs = documents(dataset)
    (work / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    questions = [{"id": q.id, "question": q.question, "as_of": q.as_of} for q, _ in asked(dataset)]
    (work / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    server = start_server(str(resolve(settings.generator.model)), cache_dir(), settings.generator.runtime,
                          settings.generator.ctx, settings.generator.threads)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        subprocess.run([str(python), str(WORKER), "--work", str(work), "--base-url", server.base_url,
                        "--threads", str(settings.threads)], env=env, check=True)
    finally:
        server.close()
    result: dict[str, Any] = json.loads((work / "answers-txtai.json").read_text(encoding="utf-8"))
    return result


def article_qa_report(dataset: str, reports: Path | None, work: Path) -> dict[str, Any]:
    """The default mode's report: reused from ``reports`` when there, else made by ``article-qa eval``."""
    if reports is not None and (reports / f"{dataset}-auto.json").is_file():
        path = reports / f"{dataset}-auto.json"
    else:
        command = [str(Path(sys.executable).parent / "article-qa"), "eval", dataset, "--mode", "auto",
                   "--out", str(work), "-q"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        path = work / f"{dataset}-auto.json"
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def figures(dataset: Dataset, answers: dict[str, str | None], seconds: list[float]) -> dict[str, Any]:
    office = dataset.name in OFFICE
    out: dict[str, Any] = {}
    for kind in ("question", "first turn", "follow-up"):
        rows = [(q, answers.get(q.id)) for q, k in asked(dataset) if k == kind]
        if not rows:
            continue
        if office:
            out[f"{kind}s right"] = f"{int(sum(score(q, a, True) for q, a in rows))}/{len(rows)}"
        else:
            out["answer F1"] = round(100 * statistics.mean(score(q, a, False) for q, a in rows), 1)
        unanswerable = [(q, a) for q, a in rows if not q.answerable]
        if unanswerable and kind == "question":
            out["unanswerable abstained"] = f"{sum(a is None for _, a in unanswerable)}/{len(unanswerable)}"
    out["answered %"] = round(100 * statistics.mean(a is not None for a in answers.values()), 1)
    out["p50 s"] = round(statistics.median(seconds), 2) if seconds else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="campus-news,realtimeqa-news")
    parser.add_argument("--venv", type=Path, default=Path.home() / ".cache" / "article-qa" / "peers-venv",
                        help="the peers' venv (created if missing)")
    parser.add_argument("--reports", type=Path, help="folder of `article-qa eval` reports to reuse (default mode)")
    parser.add_argument("--work", type=Path, help="folder for the peers' inputs and answers")
    parser.add_argument("--reuse", action="store_true", help="reuse txtai's answers already in --work")
    args = parser.parse_args()

    settings = Settings()
    python = ensure_venv(args.venv)
    work = args.work or Path(tempfile.mkdtemp(prefix="aqa-rag-"))
    result: dict[str, Any] = {"generator": settings.generator.model, "datasets": {}}
    for name in [d for d in args.datasets.split(",") if d]:
        dataset = load_dataset(name, settings.datasets_dir)
        peer = txtai_answers(dataset, python, settings, work / name, args.reuse)
        ours = article_qa_report(name, args.reports, work / name)
        mine = {p["id"]: p["prediction"] for p in ours["predictions"]}
        ours_seconds = [sum(v for k, v in p["timings_ms"].items() if k != "first_token") / 1000
                        for p in ours["predictions"] if p.get("timings_ms")]
        result["datasets"][name] = {
            "article-qa (auto)": figures(dataset, mine, ours_seconds),
            "txtai RAG": figures(dataset, {a["id"]: a["answer"] for a in peer["answers"]}, peer["seconds"]),
            "txtai answers": peer["answers"],
        }
        print(name, json.dumps({k: v for k, v in result["datasets"][name].items() if k != "txtai answers"}),
              flush=True)
    path = save("rag-peers", result)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
