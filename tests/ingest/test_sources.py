from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InvalidArticleError, UnsupportedFileError
from ingest.sources import read_bytes, scan_folder
from tests.conftest import SEED_ARTICLES


def test_reads_seed_text_files() -> None:
    scan = scan_folder(SEED_ARTICLES)
    assert scan.files == 2 and len(scan.documents) == 2 and not scan.skipped
    assert {d.source for d in scan.documents} == {
        "pkuhsc-manchester-joint-webinar.txt", "polyu-pkuhsc-medical-technology-mou.txt"}


def test_markdown_front_matter_and_syntax() -> None:
    md = (b"---\ntitle: Lab opens\ndate: 2024-03-02\nauthor: Ann Lee\n---\n"
          b"# Lab opens\n\nThe **new** [lab](http://x) opened.\n")
    (doc,) = read_bytes("lab.md", md)
    assert doc.title == "Lab opens" and doc.date == "2024-03-02" and doc.authors == ("Ann Lee",)
    assert "The new lab opened." in doc.text and "**" not in doc.text and "http://x" not in doc.text


def test_html_main_text_is_extracted() -> None:
    html = (b"<html><head><title>Campus news</title></head><body><nav>Home | About | Contact</nav>"
            b"<article><h1>Library reopens</h1><p>The university library reopened on 3 May 2023 after a "
            b"two-year renovation that added four hundred study places.</p><p>Students welcomed the change, "
            b"and the opening hours were extended until midnight on weekdays.</p></article>"
            b"<footer>Copyright 2023</footer></body></html>")
    (doc,) = read_bytes("library.html", html)
    assert "two-year renovation" in doc.text
    assert "Copyright" not in doc.text


def test_jsonl_in_dataset_format() -> None:
    rows = [{"id": "a1", "title": "T1", "date": "2022-06-10", "source": "cnn", "text": "Body one."},
            {"id": "a2", "title": "T2", "date": None, "source": "usa", "text": "Body two.", "url": "https://e.x/2"}]
    docs = read_bytes("docs.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    assert [d.doc_id for d in docs] == ["a1", "a2"]
    assert docs[1].url == "https://e.x/2" and docs[1].source == "https://e.x/2"
    assert docs[0].key == "docs.jsonl#a1"


@pytest.mark.parametrize(
    ("name", "data", "error", "needle"),
    [
        ("x.bin", b"abc", UnsupportedFileError, "unsupported file type"),
        ("x.txt", b"\x00\x01\x02binary", InvalidArticleError, "binary"),
        ("x.txt", "caf\u00e9".encode("latin-1"), InvalidArticleError, "UTF-8"),
        ("x.txt", b"   \n  ", InvalidArticleError, "empty"),
        ("x.json", b"{not json", InvalidArticleError, "invalid JSON"),
        ("x.jsonl", b'{"title": "no text"}', InvalidArticleError, "text"),
    ],
)
def test_bad_files_get_clear_errors(name: str, data: bytes, error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        read_bytes(name, data)


def test_scan_skips_bad_files_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good title\n\nA sentence of body text.")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00\x00")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("ignored")
    scan = scan_folder(tmp_path)
    assert [d.key for d in scan.documents] == ["good.txt"]
    assert set(scan.skipped) == {"bad.txt", "image.png"}
