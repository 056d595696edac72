"""Upload names: whatever a client sends, the file lands inside the articles folder under a plain name."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from core.errors import UnsupportedFileError
from service.library import safe_filename, save
from tests.conftest import LiveServer

BODY = b"Library upload title\n\nA body sentence about the new library wing that opened in May.\n"


@pytest.mark.parametrize(("name", "expected"), [
    ("/etc/passwd.txt", "passwd.txt"),
    ("../../escape.txt", "escape.txt"),
    ("..\\..\\windows.txt", "windows.txt"),
    ("C:\\Users\\x\\notes.md", "notes.md"),
    ("a\x00b.txt", "a-b.txt"),
    (".hidden.txt", "hidden.txt"),
    ("\u202egnp.txt", "gnp.txt"),
    ("e\u0301t\u00e9.html", "ete.html"),
    ("%2e%2e%2fescape.txt", "2e-2e-2fescape.txt"),
    ("News Story.TXT", "news-story.txt"),
    ("名前.txt", "article.txt"),
])
def test_names_become_plain_names_inside_the_folder(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["../../etc/passwd", "x.txt\x00.exe", "..", "\x00", "evil.exe", "page.php",
                                  "ｆｕｌｌ．ｔｘｔ", "archive.txt.zip", "/"])
def test_unsupported_or_missing_types_are_refused(name: str) -> None:
    with pytest.raises(UnsupportedFileError, match="unsupported file type"):
        safe_filename(name)


def test_save_never_writes_outside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    for name in ("../../outside.txt", "/tmp/outside2.txt", "sub/../../outside3.txt"):
        save(folder, name, BODY.replace(b"May", name.encode()), 10_000)
    assert sorted(p.name for p in folder.iterdir()) == ["outside.txt", "outside2.txt", "outside3.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["articles"]


def test_hostile_upload_names_over_http(fresh_server: LiveServer) -> None:
    url, headers = f"{fresh_server.url}/articles", fresh_server.admin()
    outside = sorted(p.name for p in fresh_server.articles_dir.parent.iterdir())
    cases = [("../../../../tmp/evil.txt", 202), ("/etc/cron.d/job.md", 202), ("..%2F..%2Fx.txt", 202),
             ("../../etc/passwd", 415), ("shell.sh", 415), ("photo.png", 415)]
    for i, (name, status) in enumerate(cases):
        r = httpx.post(url, headers=headers, timeout=30,
                       files={"file": (name, BODY.replace(b"May", f"week {i}".encode()), "text/plain")})
        assert r.status_code == status, (name, r.text)
        if status == 415:
            assert r.json()["error"] == "unsupported_file"
    saved = {p.name for p in fresh_server.articles_dir.iterdir()}
    assert {"evil.txt", "job.md", "2f-2fx.txt"} <= saved
    assert sorted(p.name for p in fresh_server.articles_dir.parent.iterdir()) == outside
    assert not Path("/tmp/evil.txt").exists() and not Path("/etc/cron.d/job.md").exists()
