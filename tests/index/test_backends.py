"""One contract for every index backend: the same records, term statistics, candidates and answers as local.

Runs on the embedded Milvus engine (milvus-lite 2.5.1) always, and on an external Milvus server or cluster when
ARTICLE_QA_MILVUS_URI points at one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from core.config import Settings
from index.backends import backend_for
from index.backends.base import IndexSnapshot
from index.embedding import Embedder
from index.retriever import HybridRetriever, RetrievalConfig, SearchFilters
from ingest.pipeline import build_snapshot
from qa.pipeline import AnswerPipeline
from tests.conftest import SeedIndex
from tests.milvus_support import EXTERNAL_SKIP, EXTERNAL_URI, copy_seed, milvus_settings
from tests.qa.test_pipeline import SEEDS, correct

QUERIES = ["When was the Manchester joint centre founded?", "medical technology memorandum of understanding",
           "clinical genomics training program", "Who cohosted the opening ceremony?", "PolyU laboratories",
           "zebra migration"]


@dataclass
class Built:
    name: str
    settings: Settings
    snapshot: IndexSnapshot


@pytest.fixture(scope="module", params=["milvus-embedded", "milvus-external"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          seed_index: SeedIndex) -> Iterator[Built]:
    """The seed articles built into a Milvus backend with the ordinary ingest pipeline."""
    if request.param == "milvus-external" and not EXTERNAL_URI:
        pytest.skip(EXTERNAL_SKIP)
    articles, data = copy_seed(seed_index, tmp_path_factory.mktemp(request.param))
    if request.param == "milvus-external":
        token = os.environ.get("ARTICLE_QA_MILVUS_TOKEN")
        settings = milvus_settings(articles, data, EXTERNAL_URI, prefix=f"article_qa_contract_{os.getpid()}",
                                   milvus_token=token, milvus_index_type=os.environ.get("ARTICLE_QA_MILVUS_INDEX_TYPE",
                                                                                        "FLAT"))
    else:
        settings = milvus_settings(articles, data)
    report = build_snapshot(articles, data, settings)
    assert report.published and report.embedded == 0  # the seed build's embedding cache was reused
    snapshot, problems = backend_for(settings).load_latest()
    assert problems == []
    assert snapshot.sentences is not None and len(snapshot.sentences) == len(seed_index.snapshot.sentences or ())
    yield Built(request.param, settings, snapshot)
    if request.param == "milvus-external":
        backend = backend_for(settings)
        client = backend.client  # type: ignore[attr-defined]
        for name in client.list_collections():
            if name.startswith(settings.milvus.collection):
                client.drop_collection(name)


def test_same_records_as_local(built: Built, seed_index: SeedIndex) -> None:
    local = seed_index.snapshot
    assert built.snapshot.articles == local.articles
    assert [c.to_dict() for c in built.snapshot.chunks] == [c.to_dict() for c in local.chunks]
    assert built.snapshot.model_id == local.model_id
    assert built.snapshot.manifest["backend"]["name"] == "milvus"


def test_term_statistics_match_bm25s(built: Built, seed_index: SeedIndex) -> None:
    vocab, df, num_docs = built.snapshot.term_stats()
    local_vocab, local_df, local_docs = seed_index.snapshot.term_stats()
    assert num_docs == local_docs == len(seed_index.snapshot.chunks)
    assert set(vocab) == set(local_vocab) - {""}  # bm25s keeps an empty token for padding
    assert all(df[vocab[t]] == local_df[local_vocab[t]] for t in vocab)


@pytest.mark.parametrize("filters", [
    None,
    SearchFilters(published_after=date(2024, 1, 1)),
    SearchFilters(published_before=date(2022, 1, 1)),
    SearchFilters(source="PKUHSC-Manchester-Joint-Webinar.txt"),
    SearchFilters(article_ids=frozenset({"polyu-pkuhsc-medical-technology-mou", "no-such-article"})),
    SearchFilters(source='x" or id >= 0 or source_no == "'),
    SearchFilters(published_after=date(2030, 1, 1)),
], ids=["none", "after", "before", "source", "article-ids", "hostile-source", "empty"])
def test_candidates_and_scores_match_local(built: Built, seed_index: SeedIndex, embedder: Embedder,
                                           filters: SearchFilters | None) -> None:
    local = HybridRetriever(seed_index.snapshot, embedder, RetrievalConfig())
    other = HybridRetriever(built.snapshot, embedder, RetrievalConfig())
    for query in QUERIES:
        expected = local.search(query, 10, filters).hits
        got = other.search(query, 10, filters, query_vector=local.search(query, 1).query_vector).hits
        assert [h.chunk.id for h in got] == [h.chunk.id for h in expected], query
        for a, b in zip(got, expected, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-6)
            assert (a.dense_score is None, a.lexical_score is None) == (b.dense_score is None, b.lexical_score is None)
            assert (a.dense_score or 0.0) == pytest.approx(b.dense_score or 0.0, abs=1e-4)
            assert (a.lexical_score or 0.0) == pytest.approx(b.lexical_score or 0.0, rel=1e-3, abs=1e-4)
    if filters is not None and filters.published_after == date(2030, 1, 1):
        assert other.search("medical", 10, filters).hits == []


def test_seed_questions_answered_alike(built: Built, seed_index: SeedIndex, embedder: Embedder) -> None:
    local = AnswerPipeline(seed_index.snapshot, embedder, seed_index.settings)
    other = AnswerPipeline(built.snapshot, embedder, built.settings)
    for q in SEEDS:
        a, b = other.ask(q["question"]), local.ask(q["question"])
        assert (a.answer, a.abstained, [c.__dict__ for c in a.citations]) == \
            (b.answer, b.abstained, [c.__dict__ for c in b.citations]), q["question"]
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
        if q.get("answerable", True):
            assert correct(a, q["answers"], q.get("match") == "all"), q["question"]
        else:
            assert a.abstained


def test_local_stays_the_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.index.backend == "local"
    assert backend_for(settings).name == "local"


def test_backend_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLE_QA_INDEX_BACKEND", "milvus")
    monkeypatch.setenv("ARTICLE_QA_MILVUS_INDEX_PARAMS", '{"M": 16, "efConstruction": 200}')
    monkeypatch.setenv("ARTICLE_QA_MILVUS_SEARCH_PARAMS", '{"ef": 96}')
    monkeypatch.setenv("ARTICLE_QA_INGEST_CLUSTER", "tcp://scheduler:8786")
    settings = Settings()
    assert settings.milvus.index_params == {"M": 16, "efConstruction": 200}
    assert settings.milvus.search_params == {"ef": 96} and settings.ingest.cluster == "tcp://scheduler:8786"
    with pytest.raises(ValueError, match="unknown index backend"):
        backend_for(settings.override(index_backend="elastic"))


def test_compose_file_sets_only_real_settings() -> None:
    """docker-compose.yml cannot run here; at least every ARTICLE_QA_* it sets is a setting and images are pinned."""
    import yaml

    from tests.conftest import ROOT

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    fields = set(Settings.variables())
    for name, service in compose["services"].items():
        assert ":latest" not in str(service.get("image", "")) and (":" in service.get("image", ":")), name
        unknown = {k for k in service.get("environment", {}) if k.startswith("ARTICLE_QA_")} - fields
        assert not unknown, f"{name}: {unknown}"
    replicas = [s for s in compose["services"].values() if "command" not in s  # the image's CMD: serve
                and s.get("environment", {}).get("ARTICLE_QA_INDEX_BACKEND") == "milvus"]
    assert len(replicas) >= 2
