"""What every generator backend offers: one span-constrained reading, streamed, with the model's probabilities.

Every backend is a client of an OpenAI-style chat server (``ChatServerGenerator``: the local llama.cpp server
or a remote one, chosen by ``models.get_generator``); the reader never knows which one it talks to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from qa.generation.constraint import SpanConstraint
from qa.records import Piece, SpanGeneration


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
