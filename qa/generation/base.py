"""What every generator backend offers: one span-constrained reading, streamed, with the model's probabilities.

Every backend is a client of an OpenAI-style chat server (``ChatServerGenerator``: the local llama.cpp server
or a remote one, chosen by ``models.get_generator``); the reader never knows which one it talks to.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from qa.generation.constraint import SpanConstraint, SpanMatch


@dataclass(frozen=True)
class Piece:
    """A piece of the answer as the model writes it (already inside the constraint)."""

    text: str


@dataclass(frozen=True)
class SpanGeneration:
    """The finished constrained reading and the probabilities the decision learns from.

    Log-probabilities are under the model's own (unconstrained) distribution; ``allowed_mass`` is how much of
    its first step the constraint allowed (how readily it copies rather than writes).
    """

    text: str | None
    matches: tuple[SpanMatch, ...] = ()
    none_logprob: float = -math.inf
    span_logprob: float = 0.0
    first_logprob: float = 0.0
    min_logprob: float = 0.0
    allowed_mass: float = 0.0
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    first_token_seconds: float = 0.0
    raw: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def said_none(self) -> bool:
        return self.text is None


class Generator(ABC):
    """A language model that reads a prompt and writes an answer inside a ``SpanConstraint``."""

    name: str = "generator"
    model: str = ""

    @abstractmethod
    def read(self, messages: list[dict[str, str]], constraint: SpanConstraint,
             max_tokens: int) -> Iterator[Piece | SpanGeneration]:
        """Yield the answer's pieces as they are written, then exactly one ``SpanGeneration``."""

    def score(self, messages: list[dict[str, str]], text: str) -> tuple[float, ...] | None:
        """The model's log-probability of each token of ``text`` as its reply to ``messages`` (teacher-forced),
        or None where the backend cannot say."""
        return None

    @abstractmethod
    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """Free greedy text (no constraint): for baselines and backends' self-checks, never shown as an answer."""

    def close(self) -> None:  # noqa: B027 - optional hook: most backends hold nothing to free
        """Free the model; the default has nothing to free."""


def finish(pieces: Iterator[Piece | SpanGeneration]) -> SpanGeneration:
    """Drain a reading and return its result (for callers that do not stream)."""
    result: SpanGeneration | None = None
    for item in pieces:
        if isinstance(item, SpanGeneration):
            result = item
    if result is None:
        raise RuntimeError("the generator ended without a result")
    return result
