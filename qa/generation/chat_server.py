"""The generator as an OpenAI-compatible chat-completions server: llama.cpp's llama-server (also run in-process,
see ``local_server``), vLLM, Ollama or any other.

The span constraint travels as a GBNF ``grammar`` and the model's own probabilities come back as
``logprobs``/``top_logprobs``, which llama-server offers. A server that takes no grammar (``grammar=False``)
writes freely; its answer then counts only where ``grounding.locate`` finds it in a passage shown, the
documented fallback. Tokens stream back as Server-Sent Events, so the page sees the answer as it is written.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx

from core.errors import GeneratorUnavailableError
from qa.generation.base import Generator
from qa.generation.constraint import NONE, SpanConstraint, gbnf_literal
from qa.grounding import locate
from qa.records import Piece, SpanGeneration, SpanMatch

NONE_PREFIX_CHARS = 2  # a first token this long that starts "NONE" counts as leaning to no answer ("N" alone: no)

SCORE_MAX_TOKENS = 48  # longest candidate answer scored, in tokens


@dataclass
class _Reply:
    """What came back for one reading: the text, per-token log-probabilities, and timings."""

    text: str = ""
    tokens: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    first_at: float | None = None


class ChatServerGenerator(Generator):
    """Reads through ``POST {base_url}/v1/chat/completions`` at temperature 0."""

    name = "openai"

    def __init__(self, base_url: str, model: str = "", api_key: str | None = None, grammar: bool = True,
                 top_logprobs: int = 10, timeout_seconds: float = 120.0, owner: Any = None) -> None:
        self.owner = owner  # the in-process server this client talks to, kept alive (and closed) with it
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.grammar = grammar
        self.top_logprobs = top_logprobs
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_seconds)

    def close(self) -> None:
        self._client.close()
        if self.owner is not None:
            self.owner.close()

    def _body(self, messages: list[dict[str, str]], max_tokens: int, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": messages, "temperature": 0, "max_tokens": max_tokens,
                                "cache_prompt": True, **extra}
        if self.model:
            body["model"] = self.model
        return body

    def _stream(self, body: dict[str, Any], reply: _Reply, started: float) -> Iterator[Piece]:
        try:
            with self._client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
                if response.status_code >= HTTPStatus.BAD_REQUEST:
                    response.read()
                    raise GeneratorUnavailableError(
                        f"the generator server at {self.base_url} answered {response.status_code}: "
                        f"{response.text[:300]}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    reply.timings.update(chunk.get("timings") or {})
                    for choice in chunk.get("choices") or []:
                        reply.tokens.extend(((choice.get("logprobs") or {}).get("content")) or [])
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            reply.first_at = reply.first_at or time.perf_counter() - started
                            reply.text += text
                            yield Piece(text)
        except httpx.HTTPError as exc:
            raise GeneratorUnavailableError(f"the generator server at {self.base_url} failed: {exc}") from exc

    def read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        started = time.perf_counter()
        extra: dict[str, Any] = {"logprobs": True, "top_logprobs": self.top_logprobs}
        if self.grammar:
            extra["grammar"] = constraint.gbnf()
        reply = _Reply()
        yield from self._stream(self._body(messages, max_tokens, **extra), reply, started)
        yield self._result(reply, constraint, time.perf_counter() - started)

    def _result(self, reply: _Reply, constraint: SpanConstraint, seconds: float) -> SpanGeneration:
        text = reply.text.strip()
        matches, notes = self._matches(text, constraint)
        said_none = text.upper().rstrip(".") == NONE
        answer = text if matches and not said_none else None
        if not said_none and not matches:
            notes = notes or ("the answer is not a slice of the passages shown",)
        content = [t for t in reply.tokens if t.get("bytes") or t.get("token")]
        logprobs = [float(t.get("logprob", 0.0)) for t in content]
        first = content[0] if content else {}
        top = first.get("top_logprobs") or []
        constraint.reset()
        none_lp = _logsumexp([float(t["logprob"]) for t in top if _starts_none(str(t.get("token", "")))])
        copy = sum(math.exp(float(t["logprob"])) for t in top if constraint.accepts(_piece(t)))
        return SpanGeneration(
            answer, tuple(matches), none_lp, sum(logprobs), logprobs[0] if logprobs else 0.0,
            min(logprobs) if logprobs else 0.0, min(1.0, copy), len(logprobs),
            int(reply.timings.get("prompt_n", 0)) + int(reply.timings.get("cache_n", 0)),
            int(reply.timings.get("cache_n", 0)), seconds, reply.first_at if reply.first_at is not None else seconds,
            reply.text, notes)

    def _matches(self, text: str, constraint: SpanConstraint) -> tuple[list[SpanMatch], tuple[str, ...]]:
        """Where the answer sits in the passages: exactly (it was decoded inside the grammar), or, from a server
        without grammars, wherever ``locate`` finds it (case, spacing and punctuation between words aside)."""
        constraint.reset()
        if text and constraint.advance(text.encode()) and constraint.can_stop():
            return [m for m in constraint.matches()], ()
        if self.grammar or not text:
            return [], ()
        found = []
        for i, passage in enumerate(constraint.passages):
            at = locate(text, passage)
            if at is not None:
                found.append(SpanMatch(i, at[0], at[1]))
        return found, ("written freely and found in a passage",) if found else ()

    def score(self, messages: list[dict[str, str]], text: str) -> tuple[float, ...] | None:
        """Teacher-forced: a grammar admitting exactly ``text``, with the raw log-probabilities of its tokens.
        The prompt is the reading's own, still in the server's cache, so only ``text`` is evaluated."""
        if not self.grammar or not text:
            return None
        body = self._body(messages, SCORE_MAX_TOKENS, grammar=f"root ::= {gbnf_literal(text.encode())}",
                          logprobs=True, top_logprobs=1)
        try:
            response = self._client.post("/v1/chat/completions", json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise GeneratorUnavailableError(f"the generator server at {self.base_url} failed: {exc}") from exc
        content = ((response.json()["choices"][0].get("logprobs") or {}).get("content")) or []
        scores = tuple(float(t.get("logprob", 0.0)) for t in content if t.get("bytes") or t.get("token"))
        return scores or None

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        try:
            response = self._client.post("/v1/chat/completions", json=self._body(messages, max_tokens))
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise GeneratorUnavailableError(f"the generator server at {self.base_url} failed: {exc}") from exc
        return str(response.json()["choices"][0]["message"].get("content") or "")


def _piece(entry: dict[str, Any]) -> bytes:
    raw = entry.get("bytes")
    return bytes(raw) if isinstance(raw, list) else str(entry.get("token", "")).encode()


def _starts_none(token: str) -> bool:
    """A first token that begins "NONE"/"None" ("NO", "NON", "None"): the model leaning towards no answer."""
    head = token.strip().upper()
    return len(head) >= NONE_PREFIX_CHARS and NONE.startswith(head)


def _logsumexp(values: list[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
