"""Property tests (Hypothesis) for cleaning, chunking and re-ingesting, over generated articles."""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.documents import Article, RawDocument
from core.text import sentence_spans
from index import snapshot as snap
from ingest.chunking import ChunkingConfig, chunk_article
from ingest.cleaning import clean
from ingest.pipeline import build_snapshot
from tests.conftest import make_settings

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORD = st.text(st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x2FFF), min_size=1, max_size=9)
CAPITAL = st.sampled_from(["The", "A", "Officials", "Doctors", "Students", "Its", "Researchers", "Ministers",
                           "Über", "Élan", "Zhang", "In"])
NUMBER = st.integers(0, 10**6).map(lambda n: f"{n:,}")


@st.composite
def sentences(draw: st.DrawFn) -> str:
    """A body sentence: a capitalised word, 4-24 more words or numbers, and a full stop (or ? or !)."""
    words = draw(st.lists(st.one_of(WORD, NUMBER), min_size=4, max_size=24))
    end = draw(st.sampled_from([".", ".", ".", "?", "!"]))
    return f"{draw(CAPITAL)} {' '.join(words)}{end}"


@st.composite
def bodies(draw: st.DrawFn) -> list[list[str]]:
    """Paragraphs of sentences."""
    return draw(st.lists(st.lists(sentences(), min_size=1, max_size=5), min_size=1, max_size=6))


SPACES = st.sampled_from([" ", "  ", " \u00a0", "\t"])
JUNK_TAIL = st.lists(st.sampled_from(["Share", "Print", "Back to top", "Read more"]), max_size=3)


@st.composite
def raw_articles(draw: st.DrawFn) -> tuple[RawDocument, list[str]]:
    """A raw text file: maybe a breadcrumb, a title, a dateline, body paragraphs (odd spacing, CRLF),
    and trailing site junk; plus the body sentences that must survive cleaning."""
    paragraphs = draw(bodies())
    title = draw(st.text(st.characters(categories=["Lu", "Ll"], max_codepoint=0x2FF), min_size=3, max_size=40))
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(f"Home » News » {title}")
    lines += [title, ""]
    if draw(st.booleans()):
        lines += [draw(st.sampled_from(["12 March 2024 | News", "March 3, 2021", "2023-07-01"])), ""]
    for paragraph in paragraphs:
        gap = draw(SPACES)
        lines += [gap.join(paragraph), ""]
    lines += draw(JUNK_TAIL)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    raw = RawDocument(key="generated.txt", source="generated.txt", text=newline.join(lines))
    return raw, [s for p in paragraphs for s in p]


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).replace("\u00a0", " ").split())


@FAST
@given(raw_articles())
def test_cleaning_never_loses_a_sentence_of_body_text(case: tuple[RawDocument, list[str]]) -> None:
    raw, body = case
    article = clean(raw, "generated")
    flat = _flat(article.text)
    for sentence in body:
        assert _flat(sentence) in flat
    assert "Home »" not in article.text and not flat.endswith(("Share", "Back to top", "Read more", "Print"))


def _article(text: str) -> Article:
    return Article(id="a", title="T", text=text, source="a.txt", content_hash="h")


@FAST
@given(raw_articles(), st.integers(20, 200), st.integers(0, 2))
def test_every_chunk_is_the_cleaned_text_at_its_offsets(case: tuple[RawDocument, list[str]], target: int,
                                                        overlap: int) -> None:
    article = clean(case[0], "generated")
    chunks = chunk_article(article, ChunkingConfig(target, target + target // 2, overlap))
    assert chunks, "every article has at least one chunk"
    for i, chunk in enumerate(chunks):
        assert chunk.text == article.text[chunk.start:chunk.end]
        assert chunk.index == i and chunk.article_id == article.id
    covered = [(c.start, c.end) for c in chunks]
    for start, end in sentence_spans(article.text):
        assert any(s <= start and end <= e for s, e in covered), "every sentence is in some chunk"
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


@FAST
@given(st.text(min_size=1, max_size=400), st.integers(5, 120))
def test_chunk_offsets_hold_for_any_text(text: str, target: int) -> None:
    article = _article(text)
    for chunk in chunk_article(article, ChunkingConfig(target, target * 2, 1)):
        assert chunk.text == text[chunk.start:chunk.end] and 0 <= chunk.start < chunk.end <= len(text)


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(raw_articles(), min_size=1, max_size=3))
def test_ingesting_the_same_folder_twice_changes_nothing(cases: list[tuple[RawDocument, list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        articles, data = Path(tmp) / "articles", Path(tmp) / "data"
        articles.mkdir()
        for i, (raw, _) in enumerate(cases):
            (articles / f"article-{i}.txt").write_text(raw.text, encoding="utf-8", newline="")
        settings_ = make_settings(articles, data)
        first = build_snapshot(articles, data, settings_)
        assert first.published and first.version
        files = _tree(data / "snapshots")
        loaded = snap.load(data, first.version)
        second = build_snapshot(articles, data, settings_)
        assert not second.published and second.version == first.version
        assert second.embedded == 0 and not (second.added or second.updated or second.removed)
        assert sorted(second.unchanged) == sorted(loaded.articles)
        assert snap.current_version(data) == first.version and _tree(data / "snapshots") == files
