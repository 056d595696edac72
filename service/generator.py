"""Local answer generation with llama.cpp; the backend is a small class chosen by name.

The generator only proposes: it must name the passage its answer comes from, and ``grounding`` decides
whether the proposal is supported before it is ever shown.
"""

from __future__ import annotations

import atexit
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SYSTEM_PROMPT = (
    "You answer questions about news articles using only the numbered passages given. "
    "Copy the shortest exact phrase from one passage that answers the question, word for word: a name, "
    "a number, a date or a few words, never a whole sentence. "
    "Reply on one line as: <passage number> | <answer>. "
    "If no passage answers the question, reply exactly: NONE"
)
# Worked examples as earlier chat turns: small models follow a shown format more reliably than a described one,
# and being a fixed prefix of every prompt they are evaluated once and then served from llama.cpp's cache.
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Passages:\n[1] The city museum opened in 1998 and now has forty rooms.\n"
     "[2] Its new director, Ann Lee, started work in May after ten years at the national gallery.\n"
     "Question: Who is the museum's new director?", "2 | Ann Lee"),
    ("Passages:\n[1] Storm Clara brought flooding to three northern counties on Tuesday.\n"
     "[2] Officials said 1,200 homes lost power and two bridges were closed.\n"
     "Question: How many homes lost power?", "2 | 1,200"),
    ("Passages:\n[1] The harbour bridge will cost $2 billion and open in 2027.\n"
     "[2] Work on the approach roads began last spring.\n"
     "Question: Who designed the bridge?", "NONE"),
)
_REPLY = re.compile(r"^\s*\[?(\d{1,2})\]?\s*[|:.)\-]\s*(.+?)\s*$")
_ONLY_PASSAGES = re.compile(r"^\s*\[?\d{1,2}\]?(?:\s*(?:,\s|and\s|&\s)\s*\[?\d{1,2}\]?)+\s*$", re.I)


@dataclass(frozen=True)
class Proposal:
    """What the model said: an answer and the passage it names, or nothing."""

    passage: int | None
    answer: str | None
    raw: str
    seconds: float
    first_token_seconds: float

    @property
    def unusable(self) -> bool:
        """A reply that lists passage numbers only ("1, 2, 4"): it says neither an answer nor NONE."""
        return _ONLY_PASSAGES.match(self.raw.strip().splitlines()[0] if self.raw.strip() else "") is not None


def parse_reply(raw: str) -> tuple[int | None, str | None]:
    """``(passage, answer)`` from "2 | Ann Lee"; a bare answer keeps ``passage`` None (grounding finds it)."""
    line = raw.strip().splitlines()[0] if raw.strip() else ""
    line = re.sub(r"^\s*(reply|answer)\s*:\s*", "", line, flags=re.I)
    if not line or line.upper().startswith("NONE"):
        return None, None
    match = _REPLY.match(line)
    passage: int | None = None
    if match:
        passage, line = int(match.group(1)), match.group(2)
    answer = line.strip().rstrip(".").strip().strip("\"'“”").strip()
    if not answer or re.search(r"\bNONE\b", answer):
        return None, None
    return passage, answer


def build_prompt(question: str, passages: list[str]) -> list[dict[str, str]]:
    numbered = "\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1))
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for shown, reply in EXAMPLES:
        messages += [{"role": "user", "content": shown}, {"role": "assistant", "content": reply}]
    messages.append({"role": "user", "content": f"Passages:\n{numbered}\nQuestion: {question}"})
    return messages


class Generator(ABC):
    name: str

    @abstractmethod
    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]: ...

    def propose(self, question: str, passages: list[str], max_tokens: int = 40,
                on_token: Callable[[str], None] | None = None) -> Proposal:
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        for piece in self.stream(build_prompt(question, passages), max_tokens):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
            if on_token:
                on_token(piece)
            if "\n" in piece:
                break
        raw = "".join(pieces)
        passage, answer = parse_reply(raw)
        elapsed = time.perf_counter() - started
        return Proposal(passage, answer, raw, elapsed, first if first is not None else elapsed)


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama-cpp-python on the CPU; one request at a time per model instance."""

    name = "llama-cpp"

    def __init__(self, model_path: str, n_ctx: int = 2048, threads: int = 2) -> None:
        from llama_cpp import Llama

        self._llm = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                          verbose=False)
        # Freed before interpreter teardown: llama.cpp's own finaliser fails once module globals are gone.
        atexit.register(self._llm.close)
        self._lock = threading.Lock()

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        with self._lock:
            llm: Any = self._llm
            chunks = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0,
                                                stream=True)
            for chunk in chunks:
                delta = chunk["choices"][0].get("delta", {})
                text = delta.get("content") if isinstance(delta, dict) else None
                if text:
                    yield text


GENERATORS: dict[str, Callable[[str, int, int], Generator]] = {"llama-cpp": LlamaCppGenerator}


@lru_cache(maxsize=2)
def get_generator(backend: str, model: str, n_ctx: int, threads: int) -> Generator:
    """One loaded model per (backend, model); loading takes seconds and hundreds of MB."""
    from service.model_files import ModelUnavailableError, resolve

    if backend not in GENERATORS:
        raise ModelUnavailableError(f"unknown generator backend {backend!r}; choose one of {sorted(GENERATORS)}")
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailableError(
            "the generator needs llama-cpp-python; run scripts/install.sh --generator"
        ) from exc
    return GENERATORS[backend](str(resolve(model)), n_ctx, threads)
