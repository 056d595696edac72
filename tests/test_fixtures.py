"""The repository's copies of the seed articles and questions, which let `make test` run from a clone alone,
still match the originals in ../shared."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_ARTICLES, SEED_QUESTIONS, SHARED


@pytest.mark.skipif(not (SHARED / "articles").is_dir(),
                    reason=f"the originals in {SHARED} are not beside the clone: nothing to compare the copies with")
def test_the_seed_copies_match_shared() -> None:
    originals = sorted((SHARED / "articles").iterdir())
    assert [p.name for p in originals] == sorted(p.name for p in SEED_ARTICLES.iterdir() if p.suffix == ".txt")
    for original in originals:
        assert (SEED_ARTICLES / original.name).read_bytes() == original.read_bytes(), original.name
    assert SEED_QUESTIONS.read_bytes() == (SHARED / "eval" / "seed-questions.jsonl").read_bytes()
