"""When the language model may read, and what answers when it cannot: the one place for that policy."""

from __future__ import annotations

from core.errors import GeneratorBusyError, GeneratorUnavailableError
from qa.records import AnswerMode, Query

INSTALL_HINT = ("generative answers need the local generator: run scripts/install.sh "
                "(or ask with mode 'extractive')")


def reads_with_generator(query: Query, generator_installed: bool) -> bool:
    """Whether this question goes to the language model; generative mode without one installed is an error."""
    if query.mode == AnswerMode.GENERATIVE and not generator_installed:
        raise GeneratorUnavailableError(INSTALL_HINT)
    return query.mode == AnswerMode.GENERATIVE or (query.mode == AnswerMode.AUTO and generator_installed)


def extractive_fallback(query: Query, exc: GeneratorBusyError | GeneratorUnavailableError) -> str:
    """In auto mode a busy or failed generator leaves the extractive draft as the answer (this says why);
    a question asked in generative mode gets the error instead."""
    if query.mode != AnswerMode.AUTO:
        raise exc
    return f"{exc.code}: answered extractively"
