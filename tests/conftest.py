"""Session fixtures: the real embedder, a snapshot of the seed articles built once, and real HTTP servers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from core.config import Settings  # noqa: E402
from index.embedding import Embedder, get_embedder  # noqa: E402
from index.snapshot import Snapshot, load_latest  # noqa: E402
from ingest.pipeline import build_snapshot  # noqa: E402
from qa.generation.models import generator_provider  # noqa: E402
from qa.pipeline import AnswerPipeline  # noqa: E402
from service.app import create_app  # noqa: E402
from service.state import IndexState  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The local generator is an optional install; `make test` installs it, so these tests run in CI.
GENERATOR_MISSING = "the local generator (xllamacpp) is not installed: run scripts/install.sh (make test does)"
needs_generator = pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason=GENERATOR_MISSING)
SHARED = Path(os.environ.get("ARTICLE_QA_SHARED_DIR", ROOT.parent / "shared"))
DATASETS = SHARED / "datasets"
# Only the benchmark data needs ../shared; the seed articles and questions have copies in the repository.
needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(),
                                    reason=f"the benchmark data {DATASETS} is not beside the clone")
SEED = ROOT / "tests" / "fixtures" / "seed"
SEED_ARTICLES = SEED / "articles"
SEED_QUESTIONS = SEED / "seed-questions.jsonl"
ADMIN_TOKEN = "test-admin-token"


def make_settings(articles_dir: Path, data_dir: Path, **extra: object) -> Settings:
    """Test settings: the extractive reader answers unless a test asks for the generator, which keeps the
    HTTP and page tests fast; the generator's own tests choose its mode per request."""
    extra.setdefault("answer_mode", "extractive")
    return Settings(articles_dir=articles_dir, data_dir=data_dir, reload_poll_seconds=0.2, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder("minilm", 2)


@dataclass
class SeedIndex:
    articles_dir: Path
    data_dir: Path
    settings: Settings
    snapshot: Snapshot


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> SeedIndex:
    """The two seed articles indexed once; tests that change data copy it first."""
    root = tmp_path_factory.mktemp("seed")
    articles = root / "articles"
    shutil.copytree(SEED_ARTICLES, articles)
    settings = make_settings(articles, root / "data")
    build_snapshot(articles, settings.data_dir, settings)
    snapshot, _ = load_latest(settings.data_dir)
    return SeedIndex(articles, settings.data_dir, settings, snapshot)


@pytest.fixture(scope="session")
def extractive(seed_index: SeedIndex, embedder: Embedder) -> AnswerPipeline:
    """The pipeline without a generator: the extractive reader answers (the no-generator install)."""
    return AnswerPipeline(seed_index.snapshot, embedder, seed_index.settings)


@pytest.fixture(scope="session")
def generative(seed_index: SeedIndex, embedder: Embedder) -> AnswerPipeline:
    """The pipeline with the real packaged generator (llama.cpp + Qwen2.5 0.5B)."""
    provider = generator_provider(seed_index.settings)
    if provider is None:
        pytest.skip(GENERATOR_MISSING)
    return AnswerPipeline(seed_index.snapshot, embedder, seed_index.settings, provider)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    articles_dir: Path
    data_dir: Path
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(root: Path, seed: SeedIndex, embedder: Embedder, token: str | None = ADMIN_TOKEN,
                 watch: bool = False, **extra: object) -> LiveServer:
    """A real uvicorn server on 127.0.0.1 over a private copy of the seed articles and snapshot."""
    articles, data = root / "articles", root / "data"
    shutil.copytree(seed.articles_dir, articles)
    shutil.copytree(seed.data_dir, data)
    return serve(make_settings(articles, data, admin_token=token, **extra), embedder, watch)


def serve(settings: Settings, embedder: Embedder, watch: bool = False,
          ready: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200) -> LiveServer:
    """A real uvicorn server on 127.0.0.1 for these settings, returned once `/readyz` answers as `ready` wants."""
    port = free_port()
    app = create_app(settings, state=IndexState(settings, embedder), watch=watch)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ready(httpx.get(f"{url}/readyz", timeout=2)):
                return LiveServer(url, settings.articles_dir, settings.data_dir, settings, server, thread)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def rebuild_and_load(server: LiveServer, articles: int, timeout: float = 180.0) -> None:
    """Rebuild the index through the admin API and wait until the server answers from the new snapshot."""
    job = httpx.post(f"{server.url}/index/rebuild", headers=server.admin()).json()
    deadline = time.monotonic() + timeout
    while httpx.get(f"{server.url}/index/jobs/{job['id']}").json()["state"] != "succeeded":
        assert time.monotonic() < deadline, "the rebuild did not finish"
        time.sleep(0.2)
    while httpx.get(f"{server.url}/articles").json()["total"] != articles:
        assert time.monotonic() < deadline, "the new snapshot was not loaded"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, seed_index: SeedIndex, embedder: Embedder
) -> Iterator[LiveServer]:
    """A read-mostly server shared by the API and page tests."""
    server = start_server(tmp_path_factory.mktemp("live"), seed_index, embedder)
    yield server
    server.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path, seed_index: SeedIndex, embedder: Embedder) -> Iterator[LiveServer]:
    """A server of its own, for tests that add, delete or rebuild."""
    server = start_server(tmp_path, seed_index, embedder)
    yield server
    server.stop()
