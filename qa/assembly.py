"""The answer assembly: the decision, its grounded citation and what explains it, as one ``Answer``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from qa.records import Answer, Decision, EvidenceSet, Grounded, Query, Signals

log = logging.getLogger(__name__)


class AnswerAssembly:
    """Builds the ``Answer`` from candidates the grounding stage already checked (it grounds nothing again)."""

    def __init__(self, snapshot: str) -> None:
        self.snapshot = snapshot

    def run(self, query: Query, evidence: EvidenceSet, decision: Decision, checked: Sequence[Grounded],
            timings: dict[str, float], signals: Signals, final: bool) -> Answer:
        hits = evidence.hits[:query.top_k]
        grounded = _grounding_of(decision, checked)
        signals = replace(signals, chosen=decision.chosen,
                          candidate=decision.candidate.text if decision.candidate else None,
                          threshold=round(decision.threshold, 4), reader=decision.reader)
        candidates = tuple({"text": c.span.text, "source": c.source, "probability": round(c.probability, 5),
                            "features": c.features.as_dict()} for c in decision.candidates)
        mode = "generative" if decision.reader.startswith("generative") else "extractive"
        confidence = round(decision.confidence, 4)
        if grounded.span is None or grounded.citation is None:
            if decision.span is not None:
                signals = replace(signals, grounding=grounded.failure)
            reason = decision.reason if decision.span is None else f"Not shown: {grounded.failure}."
            return Answer(query.asked, query.rewritten, None, True, confidence, reason, (), hits, self.snapshot,
                          mode, final, timings, signals, decision.features.as_dict(), candidates)
        return Answer(query.asked, query.rewritten, grounded.span.text, False, confidence, decision.reason,
                      (grounded.citation,), hits, self.snapshot, mode, final, timings, signals,
                      decision.features.as_dict(), candidates)


def _grounding_of(decision: Decision, checked: Sequence[Grounded]) -> Grounded:
    """The grounding of the span the decision shows (the same object a reader produced and grounding passed)."""
    span = decision.span
    if span is None:
        return Grounded(None, None, "no answer")
    found = next((g for g in checked if g.span is span), None)
    if found is None:
        log.error("the decision chose a span grounding never checked: %r", span.text)
        return Grounded(None, None, "was not checked against its article")
    return found
