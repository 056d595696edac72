"""Milvus for tests: the real engine from milvus-lite 2.5.1, embedded (a .db file owned by one process) or
started as a server on 127.0.0.1 for several processes; an external Milvus when ARTICLE_QA_MILVUS_URI is set."""

from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import Settings
from tests.conftest import SeedIndex, free_port, make_settings

EXTERNAL_URI = os.environ.get("ARTICLE_QA_MILVUS_URI", "")
EXTERNAL_SKIP = ("no external Milvus: set ARTICLE_QA_MILVUS_URI=http://host:19530 (and ARTICLE_QA_MILVUS_TOKEN) "
                 "to run the backend contract against a Milvus server or cluster")


def milvus_settings(articles: Path, data: Path, uri: str | None = None, prefix: str = "article_qa",
                    **extra: object) -> Settings:
    """Settings for the milvus backend; without ``uri`` the embedded engine runs on <data>/milvus.db."""
    return make_settings(articles, data, index_backend="milvus", milvus_uri=uri or str(data / "milvus.db"),
                         milvus_collection=prefix, **extra)


def copy_seed(seed: SeedIndex, root: Path) -> tuple[Path, Path]:
    """The seed articles and the seed build's caches (so nothing is embedded again), without its snapshots."""
    articles, data = root / "articles", root / "data"
    shutil.copytree(seed.articles_dir, articles)
    data.mkdir(parents=True)
    for path in seed.data_dir.glob("*.sqlite*"):  # with the WAL files, where recent writes still are
        shutil.copy2(path, data / path.name)
    return articles, data


@dataclass
class LiteServer:
    """milvus-lite's engine serving gRPC on a loopback port, like Milvus standalone does on 19530."""

    db: Path
    port: int
    server: object

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        process = getattr(self.server, "_p", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except Exception:
                process.kill()
                process.wait(timeout=10)


def start_lite_server(db: Path) -> LiteServer:
    from milvus_lite.server import Server

    db.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = Server(str(db), f"127.0.0.1:{port}")
    if not server.init() or not server.start():
        raise RuntimeError(f"milvus-lite did not start on 127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return LiteServer(db, port, server)
        time.sleep(0.1)
    raise RuntimeError("milvus-lite server did not open its port")
