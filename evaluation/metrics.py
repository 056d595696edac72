"""SQuAD-style answer scoring and standard retrieval metrics."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from core.text import HAN

CORRECT_F1 = 0.5  # an answer counts as right at this SQuAD-style F1 or above
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("“”‘’—–，。！？；：、（）「」『』《》【】…·　")


def normalize(text: str) -> str:
    """Lower case, drop punctuation and articles, fold white space (the SQuAD evaluation script's rule)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def units(text: str) -> list[str]:
    """The units F1 counts: words, and each Han character on its own (CMRC 2018's character F1 for Chinese)."""
    return [u for word in normalize(text).split() for u in (HAN.sub(lambda m: f" {m.group(0)} ", word).split())]


def f1(prediction: str, gold: str) -> float:
    pred, ref = units(prediction), units(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def answer_scores(prediction: str | None, answers: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) against the best gold answer; an abstention is right exactly when there is no gold answer."""
    if not answers:
        return (1.0, 1.0) if prediction is None else (0.0, 0.0)
    if prediction is None:
        return 0.0, 0.0
    return max(exact_match(prediction, a) for a in answers), max(f1(prediction, a) for a in answers)


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    norm = f" {' '.join(units(text))} "
    wanted = (" ".join(units(a)) for a in answers)
    return any(f" {w} " in norm for w in wanted if w)


def office_right(answer: str | None, listed: Sequence[str], match_all: bool) -> bool:
    """The office sets' rule: the answer contains a listed string (every one with ``match_all``) after SQuAD
    normalisation; with nothing listed, only an abstention is right."""
    if not listed:
        return answer is None
    if answer is None:
        return False
    hits = [contains_answer(answer, [a]) for a in listed]
    return all(hits) if match_all else any(hits)


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return float(bool(gold & set(ranked[:k]))) if gold else float("nan")


def reciprocal_rank(ranked: Sequence[str], gold: set[str]) -> float:
    for i, doc in enumerate(ranked, start=1):
        if doc in gold:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[str], relevance: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevance.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevance.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def fraction_recalled(ranked: Sequence[str], relevance: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, r in relevance.items() if r > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else float("nan")


def mean(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")
