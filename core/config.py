"""One settings object for the whole project, read from ``ARTICLE_QA_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of article-qa; each field can be set as ``ARTICLE_QA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ARTICLE_QA_", env_file=None, extra="ignore")

    articles_dir: Path = Field(Path("../shared/articles"), description="Folder the articles are read from.")
    data_dir: Path = Field(Path("data"), description="Folder holding snapshots and the embedding cache.")
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: SecretStr | None = Field(None, description="Bearer token for admin calls; unset disables them.")

    embedding_model: str = Field("minilm", description="Embedder name: 'minilm' (packaged all-MiniLM-L6-v2).")
    embedding_batch_size: int = 32
    threads: int = Field(2, description="CPU threads for embedding and search.")

    chunk_words: int = Field(110, description="Target words per chunk (MiniLM reads at most 256 word pieces).")
    chunk_max_words: int = 170
    chunk_overlap_sentences: int = 1

    retrieval_candidates: int = Field(50, description="Candidates taken from each of BM25 and dense search.")
    fusion: str = Field("rrf", description="How BM25 and dense results are fused: rrf or convex.")
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    recency_half_life_days: float | None = Field(
        7.0, description="With an as_of day, prefer articles this many days old or newer (unset: only when asked).")
    default_top_k: int = 5
    max_top_k: int = 50

    max_question_chars: int = 1000
    abstain_threshold: float = Field(0.35, description="Answers with lower confidence become abstentions.")

    answer_mode: str = Field("extractive", description="Default answer mode: extractive, generative or auto.")
    generator_backend: str = Field("llama-cpp", description="Generator backend name.")
    generator_model: str = Field(
        "qwen2.5-0.5b", description="A GGUF file path, or a packaged model: qwen2.5-0.5b or qwen2.5-1.5b.")
    generator_ctx: int = 2048
    generator_threads: int = 2
    generator_max_tokens: int = 40
    generator_passages: int = Field(4, description="Passages (sentence windows) shown to the generator.")
    auto_accept_confidence: float = Field(
        0.8, description="In auto mode, extractive answers at least this confident skip the generator.")
    datasets_dir: Path = Field(Path("../shared/datasets"), description="Benchmark data for `article-qa eval`.")
    eval_dir: Path = Field(Path("data/eval"), description="Indexes and reports written by `article-qa eval`.")

    max_upload_bytes: int = 5_000_000
    keep_snapshots: int = Field(3, description="Snapshots kept on disk for rollback.")
    reload_poll_seconds: float = Field(1.0, description="How often the service checks for a newer snapshot.")
    watch_debounce_ms: int = 1500
    fault_delay_ms: int = Field(0, description="Pause between snapshot publish steps; only for crash tests.")

    # Issue 5 (performance)
    embedding_coalesce_max_texts: int = Field(
        64, description="Concurrent small encodes (up to this many texts together) share one forward pass; 0: off.")
    request_threads: int = Field(
        8, description="Requests answered at once (worker threads); more wait in line, which bounds memory.")
    malloc_arenas: int = Field(2, description="glibc malloc arenas for the service (0: glibc's default).")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
