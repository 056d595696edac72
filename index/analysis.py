"""The one text analyser for lexical matching: BM25 and answer scoring must tokenise alike."""

from __future__ import annotations

from functools import lru_cache

import opencc
import Stemmer

from core.text import HAN, has_han, words

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does doing for from had has have having he her
    hers him his how i if in into is it its itself me my of off on once or our ours out over own s she should
    so than that the their theirs them then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours also about after before
    during same any each few more most other some such only just both again further here all nor not t don
    ve ll d m o re y ma shall may might must""".split()
)
_SPELLING = {
    "centre": "center", "centres": "centers", "programme": "program", "programmes": "programs",
    "organisation": "organization", "organisations": "organizations", "organise": "organize",
    "organised": "organized", "labour": "labor", "colour": "color", "honour": "honor", "defence": "defense",
    "licence": "license", "theatre": "theater", "analyse": "analyze", "analysed": "analyzed",
    "recognised": "recognized", "paediatric": "pediatric", "paediatrics": "pediatrics",
}
_stemmer = Stemmer.Stemmer("english")
ANALYZER_VERSION = 3  # what ``lexical_terms`` emits; 2: Han bigrams, 3: one script. A change re-tokenises the index.
# Chinese in either script is matched in Simplified: OpenCC's Hong Kong (and standard) Traditional to Simplified
# table, so "論壇" (a Hong Kong article) and "论坛" (a reader's question) are one term, and so are "衞" and "卫".
SCRIPT_FOLDING = "hk2s"
_folding = opencc.OpenCC(SCRIPT_FOLDING)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(_SPELLING.get(word, word))


def fold_script(text: str) -> str:
    """``text`` with its Traditional Chinese in Simplified (text without Han characters is returned as it is)."""
    return _folding.convert(text) if has_han(text) else text


def analyze(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed tokens; Chinese in Simplified script."""
    return [stem(w) for w in words(fold_script(text)) if w not in STOPWORDS]


def lexical_terms(text: str) -> list[str]:
    """The BM25 terms of ``text``: ``analyze``'s tokens, plus each pair of adjacent Han characters (Chinese
    words are mostly two characters long, so a bigram matches a word where single characters match noise)."""
    terms = analyze(text)
    return terms + [a + b for a, b in zip(terms, terms[1:], strict=False) if HAN.fullmatch(a) and HAN.fullmatch(b)]
