from __future__ import annotations

from core.documents import RawDocument
from ingest.cleaning import clean
from ingest.sources import scan_folder
from tests.conftest import SEED_ARTICLES


def _seed(name: str) -> tuple[RawDocument, str]:
    doc = next(d for d in scan_folder(SEED_ARTICLES).documents if d.key.startswith(name))
    return doc, doc.key


def test_webinar_boilerplate_removed_and_metadata_found() -> None:
    raw, _ = _seed("pkuhsc-manchester")
    article = clean(raw, "webinar")
    assert "Home»" not in article.text and "News&Events" not in article.text
    assert not article.text.rstrip().endswith("TOP")
    title = "Peking University Health Science Center and the University of Manchester Hold a Joint Webinar"
    assert article.title == title and article.text.count(title) == 1
    assert "\n\n\n" not in article.text
    assert article.date == "2021-01-11"
    assert (article.byline, article.editor, article.source_office) == (
        "Lang Lang", "Liu Xin", "Office of International Cooperation")
    for field, value in (("byline", "Lang Lang"), ("editor", "Liu Xin")):
        start, end = article.metadata_spans[field]
        assert article.text[start:end] == value


def test_polyu_dateline_and_broken_paragraph() -> None:
    raw, _ = _seed("polyu")
    article = clean(raw, "polyu")
    assert article.date == "2025-02-24"
    start, end = article.metadata_spans["date"]
    assert article.text[start:end] == "24 February 2025"
    assert "| News" not in article.text
    assert "medical laboratory testing, speech therapy" in article.text


def test_body_sentences_survive_cleaning() -> None:
    for raw in scan_folder(SEED_ARTICLES).documents:
        article = clean(raw, "x")
        flat = " ".join(article.text.split())
        for line in raw.text.splitlines():
            line = " ".join(line.split())
            if line.endswith(".") and len(line) > 60:
                assert line in flat


def test_identical_text_has_identical_hash() -> None:
    a = clean(RawDocument(key="a.txt", source="a.txt", text="Title\n\nSame body text here."), "a")
    b = clean(RawDocument(key="b.txt", source="b.txt", text="Title\n\n\n  Same body text here.  \n"), "b")
    assert a.content_hash == b.content_hash
