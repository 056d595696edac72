from __future__ import annotations

from pathlib import Path

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


ZH_ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "zh"


def test_a_chinese_article_keeps_its_date_and_credits_at_exact_offsets() -> None:
    raw = next(d for d in scan_folder(ZH_ARTICLES).documents if d.key.startswith("pkuhsc-nursing"))
    article = clean(raw, "nursing")
    assert article.title == "北京大学护理学院临床模拟教学中心正式启用" and "首页" not in article.text
    assert article.date == "2024-05-20"
    assert (article.byline, article.editor, article.source_office) == ("王雪", "刘昕", "护理学院")
    for field in ("byline", "editor", "source_office"):
        start, end = article.metadata_spans[field]
        assert article.text[start:end] == getattr(article, field)


def test_a_traditional_chinese_article_keeps_its_credits() -> None:
    raw = next(d for d in scan_folder(ZH_ARTICLES).documents if d.key.startswith("polyu-bay-area"))
    article = clean(raw, "forum")
    assert article.date == "2025-01-15" and article.byline and article.editor
    start, end = article.metadata_spans["editor"]
    assert article.text[start:end] == article.editor
    assert article.title == "理大舉辦大灣區健康科技論壇" and "主頁" not in article.text
