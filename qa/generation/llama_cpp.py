"""In-process llama.cpp (llama-cpp-python): greedy decoding inside a ``SpanConstraint``, step by step.

Decoding is driven here rather than by llama.cpp's sampler so that each step can mask the vocabulary to the
tokens the constraint allows and keep the model's own probabilities for the decision. The prompt prefix
shared with the previous request (system prompt and worked examples) stays in the KV cache.
"""

from __future__ import annotations

import atexit
import ctypes
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from qa.generation.base import Generator, Piece, SpanGeneration
from qa.generation.constraint import NONE, SpanConstraint, TokenIndex


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    top = float(logits.max())
    return logits - (top + math.log(float(np.exp(logits - top).sum())))


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama-cpp-python on the CPU; one reading at a time per loaded model."""

    name = "llama-cpp"

    def __init__(self, model_path: str, n_ctx: int = 2048, threads: int = 2) -> None:
        from llama_cpp import Llama, llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.model = model_path
        self._llm: Any = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                               verbose=False)
        atexit.register(self.close)  # freed before interpreter teardown breaks llama.cpp's own finaliser
        self._lock = threading.Lock()
        llm = self._llm
        self._n_vocab = int(llm.n_vocab())
        vocab = llm._model.vocab
        self._eog = {t for t in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)}
        self._tokens = TokenIndex((t, llm.detokenize([t])) for t in range(self._n_vocab) if t not in self._eog)
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{model_path} has no chat template in its metadata")
        eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", errors="ignore")
        bos_id = llm.token_bos()
        bos = llm.detokenize([bos_id], special=True).decode("utf-8", errors="ignore") if bos_id >= 0 else ""
        self._format = Jinja2ChatFormatter(template, eos, bos)
        self._none_first = self._first_tokens(NONE)
        self._logits = ctypes.POINTER(ctypes.c_float)

    def _first_tokens(self, text: str) -> set[int]:
        data = text.encode()
        return set(self._tokens.prefixes_of(data))

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None

    def _prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        chat: Any = messages
        prompt = self._format(messages=chat).prompt
        tokens: list[int] = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def _feed(self, tokens: list[int]) -> tuple[np.ndarray, int]:
        """Evaluate ``tokens`` after the longest prefix already in the KV cache; the next-token logits."""
        llm = self._llm
        cached = 0
        limit = min(llm.n_tokens, len(tokens) - 1)
        ids = llm.input_ids
        while cached < limit and ids[cached] == tokens[cached]:
            cached += 1
        if cached and not llm._ctx.kv_cache_seq_rm(-1, cached, -1):
            cached = 0
        llm.n_tokens = cached
        if cached == 0:
            llm.reset()
        llm.eval(tokens[cached:])
        return self._last_logits(), cached

    def _last_logits(self) -> np.ndarray:
        pointer = self._llm._ctx.get_logits()
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).astype(np.float64)

    def read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        with self._lock:
            yield from self._read(messages, constraint, max_tokens)

    def _read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
              max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        started = time.perf_counter()
        prompt = self._prompt_tokens(messages)
        logits, cached = self._feed(prompt)
        constraint.reset()
        span_lp = constrained_lp = 0.0
        first_lp = min_lp = 0.0
        none_lp = -math.inf
        allowed_mass = 0.0
        first_at: float | None = None
        steps = 0
        pending = b""
        while steps < max_tokens:
            logprobs = _log_softmax(logits)
            allowed = constraint.allowed(self._tokens)
            stop_ok = constraint.can_stop()
            choices = np.fromiter(allowed | (self._eog if stop_ok else set()), dtype=np.int64)
            if steps == 0:
                none_ids = np.fromiter(self._none_first & allowed, dtype=np.int64)
                if len(none_ids):
                    none_lp = float(np.logaddexp.reduce(logprobs[none_ids]))
                allowed_mass = float(np.exp(np.logaddexp.reduce(logprobs[choices]))) if len(choices) else 0.0
            if len(choices) == 0:
                break
            masked = logprobs[choices]
            pick = int(choices[int(np.argmax(masked))])
            if pick in self._eog:
                break
            lp = float(logprobs[pick])
            span_lp += lp
            constrained_lp += lp - float(np.logaddexp.reduce(masked))
            min_lp = lp if steps == 0 else min(min_lp, lp)
            if steps == 0:
                first_lp = lp
            piece = self._llm.detokenize([pick])
            if not constraint.advance(piece):
                break
            steps += 1
            if first_at is None:
                first_at = time.perf_counter() - started
            pending += piece
            try:
                text = pending.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if text:
                pending = b""
                yield Piece(text)
            logits, _ = self._feed_one(pick)
        elapsed = time.perf_counter() - started
        output = constraint.output.decode("utf-8", errors="ignore")
        matches = tuple(constraint.matches()) if not constraint.is_none else ()
        answer = None if constraint.is_none or not output or not matches else output
        notes = () if answer is not None or constraint.is_none else ("the reading ended outside a word boundary",)
        yield SpanGeneration(answer, matches, none_lp, span_lp, constrained_lp, first_lp, min_lp, allowed_mass,
                             steps, len(prompt), cached, elapsed, first_at if first_at is not None else elapsed,
                             output, notes)

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        with self._lock:
            logits, _ = self._feed(self._prompt_tokens(messages))
            out: list[int] = []
            for _ in range(max_tokens):
                pick = int(np.argmax(logits))
                if pick in self._eog:
                    break
                out.append(pick)
                logits, _ = self._feed_one(pick)
            return str(self._llm.detokenize(out).decode("utf-8", errors="ignore"))

    def _feed_one(self, token: int) -> tuple[np.ndarray, int]:
        self._llm.eval([token])
        return self._last_logits(), 0
