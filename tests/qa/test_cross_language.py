"""Questions in one language about articles in the other, with the multilingual embedder over a mixed folder:
BM25 matches only the question's own language, so the best dense passage of the other language is kept among
the retrieved passages and given a window of the generator's evidence (real e5 model, real index)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.backends.local import LocalBackend
from index.embedding import get_embedder
from ingest.pipeline import build_snapshot
from qa.pipeline import AnswerPipeline
from qa.records import AskInput
from tests.conftest import SEED_ARTICLES, make_settings

ZH_ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "zh"
ASKED = [  # (question, the article in the other language that answers it)
    ("PKUHSC和曼彻斯特大学的联合研究中心是哪一年成立的？", "pkuhsc-manchester-joint-webinar"),
    ("How many simulation wards and training rooms does the PKU nursing simulation centre have?",
     "pkuhsc-nursing-simulation-center"),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The two English seed articles and the two Chinese ones, indexed with e5."""
    root = tmp_path_factory.mktemp("mixed")
    articles = root / "articles"
    shutil.copytree(SEED_ARTICLES, articles)
    for article in ZH_ARTICLES.glob("*.txt"):
        shutil.copy(article, articles / article.name)
    settings = make_settings(articles, root / "data", embedding_model="e5")
    build_snapshot(articles, settings.data_dir, settings)
    return articles, settings.data_dir


def _pipeline(mixed: tuple[Path, Path], other_language: int) -> AnswerPipeline:
    articles, data = mixed
    settings = make_settings(articles, data, embedding_model="e5", other_language_passages=other_language)
    return AnswerPipeline(LocalBackend(data).load_latest()[0], get_embedder("e5", 2), settings)


@pytest.mark.parametrize(("question", "article"), ASKED)
def test_the_other_languages_article_is_retrieved_and_shown(mixed: tuple[Path, Path], question: str,
                                                            article: str) -> None:
    pipeline = _pipeline(mixed, 1)
    query = pipeline.question.run(AskInput(question), pipeline.default_mode, pipeline.find_article,
                                  pipeline.article_title)
    retrieved = pipeline.retrieval.run(query)
    assert article in [h.article.id for h in retrieved.hits[:pipeline.retrieval.depth]]
    evidence = pipeline.evidence.run(query, retrieved)
    assert article in [p.article.id for p in evidence.passages]
    assert len(evidence.passages) <= pipeline.evidence.config.window_limit


def test_without_the_kept_passage_fusion_loses_it(mixed: tuple[Path, Path]) -> None:
    """The control: the English question with the setting at 0, where BM25 over the English seed articles
    outranks the Chinese article's passages, so the test above fails without the mechanism."""
    question, article = ASKED[1]
    pipeline = _pipeline(mixed, 0)
    query = pipeline.question.run(AskInput(question), pipeline.default_mode, pipeline.find_article,
                                  pipeline.article_title)
    evidence = pipeline.evidence.run(query, pipeline.retrieval.run(query))
    assert article not in [p.article.id for p in evidence.passages]


def test_an_english_folder_is_searched_as_before(mixed: tuple[Path, Path], tmp_path: Path) -> None:
    """One language only: nothing is kept or reserved, whatever the setting."""
    articles = tmp_path / "articles"
    shutil.copytree(SEED_ARTICLES, articles)
    settings = make_settings(articles, tmp_path / "data", embedding_model="e5")
    build_snapshot(articles, settings.data_dir, settings)
    pipeline = AnswerPipeline(LocalBackend(settings.data_dir).load_latest()[0], get_embedder("e5", 2), settings)
    assert not pipeline.retrieval.retriever.mixed and not pipeline.evidence.cross_language
