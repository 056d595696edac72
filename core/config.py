"""One settings object for the whole project, read from ``ARTICLE_QA_*`` environment variables."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of article-qa; each field can be set as ``ARTICLE_QA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ARTICLE_QA_", env_file=None, extra="ignore")

    articles_dir: Path = Field(Path("articles"), description="Folder the articles are read from.")
    data_dir: Path = Field(Path("data"), description="Folder holding snapshots and the embedding cache.")
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: SecretStr | None = Field(None, description="Bearer token for admin calls; unset disables them.")

    embedding_model: str = Field(
        "minilm", description="Embedder name: 'minilm' (packaged all-MiniLM-L6-v2, English) or 'e5' (packaged "
                              "multilingual-e5-small: Chinese and English questions across both; indexes slower).")
    embedding_batch_size: int = 32
    threads: int = Field(2, description="CPU threads for embedding and search.")

    chunk_words: int = Field(110, description="Target words per chunk (MiniLM reads at most 256 word pieces).")
    chunk_max_words: int = 170
    chunk_overlap_sentences: int = 1

    retrieval_candidates: int = Field(50, description="Candidates taken from each of BM25 and dense search.")
    fusion: str = Field("rrf", description="How BM25 and dense results are fused: rrf or convex.")
    rrf_k: int = 60
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in fusion (BM25 has lexical_weight).")
    lexical_weight: float = 1.0
    recency_half_life_days: float | None = Field(
        7.0, description="With an as_of day, prefer articles this many days old or newer (unset: only when asked).")
    evidence_rerank_weight: float = Field(
        1.0, description="How much the best evidence sentence of an article lifts its passages (0: fused order).")
    recency_weight: float = Field(2.0, description="How strongly a date preference lifts matching articles.")
    default_top_k: int = 5
    max_top_k: int = 50

    max_question_chars: int = 1000
    abstain_threshold: float | None = Field(
        None, description="Answers with lower confidence become abstentions (unset: the threshold fitted on dev data).")
    decision_model: Path | None = Field(
        None, description="Fitted answer/abstain models (JSON from `article-qa calibrate --fit`; unset: the packaged "
                          "qa/decision.json).")

    answer_mode: str = Field(
        "auto", description="Default answer mode: auto (the generator when installed, after an extractive draft; "
                            "else extractive), generative or extractive.")
    generator_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server to read with (llama-server, vLLM, Ollama); "
                          "unset: the packaged runtime runs the model in-process.")
    generator_api_key: SecretStr | None = Field(None, description="API key sent to the generator server, if any.")
    generator_grammar: bool = Field(
        True, description="Send the span constraint as a GBNF grammar (llama-server); off for servers without "
                          "grammars: the answer then counts only where it is found verbatim in a passage.")
    generator_model: str = Field(
        "qwen2.5-0.5b", description="A GGUF file path or a packaged model (qwen2.5-0.5b, qwen2.5-1.5b); with a "
                                    "server, the model name it is asked for.")
    generator_ctx: int = Field(4096, description="Context window of the local generator, in tokens.")
    generator_threads: int = Field(2, description="CPU threads the generator uses.")
    generator_max_tokens: int = Field(24, description="Longest answer the generator may write, in tokens.")
    generator_passages: int | None = Field(
        None, description="Evidence windows shown to the generator; unset: the packaged model's own value.")
    generator_neighbours: int | None = Field(
        None, description="Sentences either side of each evidence sentence shown; unset: the model's own value.")
    generator_context_words: int | None = Field(
        None, description="Words of passage text shown to the generator at most; unset: the model's own value.")
    datasets_dir: Path = Field(Path("../shared/datasets"), description="Benchmark data for `article-qa eval`.")
    eval_dir: Path = Field(Path("data/eval"), description="Indexes and reports written by `article-qa eval`.")

    max_upload_bytes: int = 5_000_000
    keep_snapshots: int = Field(3, description="Snapshots kept on disk for rollback.")
    reload_poll_seconds: float = Field(1.0, description="How often the service checks for a newer snapshot.")
    progress_log_seconds: float = Field(10.0, description="How often `serve` logs a running build's progress.")
    watch_debounce_ms: int = 1500
    fault_delay_ms: int = Field(0, description="Pause between snapshot publish steps; only for crash tests.")

    # chat page: streaming, conversation, feedback
    conversation_rewriter: str = Field(
        "rules", description="How follow-up questions become standalone: rules (pronouns, ellipsis) or none.")
    conversation_turns: int = Field(3, description="How many earlier turns the rewriter looks back over.")
    feedback_file: str = Field("feedback.sqlite3", description="SQLite file in the data folder for answer ratings.")
    stream_ping_seconds: int = Field(15, description="Keep-alive comment interval of /ask/stream.")
    # serving: observability and limits
    generator_max_waiting: int = Field(
        2, description="Generative requests that may wait for the busy generator; more get 503 at once.")
    generator_wait_seconds: float = Field(
        15.0, description="How long a generative request waits for the generator before a 503.")
    generator_timeout_seconds: float = Field(
        60.0, description="A generation running longer than this is stopped and answered with 503.")
    max_request_bytes: int = Field(
        65_536, description="Largest request body, except uploads to POST /articles (413 above it).")
    rate_limit_per_minute: float = Field(
        0.0, description="Questions per minute one client IP may ask (/ask); 0 turns the limit off.")
    rate_limit_burst: int = Field(10, description="Questions a client may ask at once before the rate applies.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (comma-separated); "
        "empty turns CORS off.")
    log_format: str = Field("json", description="Service log lines: json (one object per line) or text.")
    shutdown_grace_seconds: float = Field(
        10.0, description="On SIGTERM, how long in-flight requests may take to finish.")

    # performance: shared encodes, threads, memory
    embedding_coalesce_max_texts: int = Field(
        64, description="Concurrent small encodes (up to this many texts together) share one forward pass; 0: off.")
    request_threads: int = Field(
        8, description="Requests answered at once (worker threads); more wait in line, which bounds memory.")
    malloc_arenas: int = Field(2, description="glibc malloc arenas for the service (0: glibc's default).")

    # sources: feeds and sitemaps
    feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="RSS/Atom feed URLs articles are fetched from (comma-separated); "
        "`serve` polls them, `ingest` reads them once.")
    sitemaps: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Sitemap URLs articles are fetched from (comma-separated), like feeds.")
    feed_poll_seconds: float = Field(900.0, description="How often `serve` polls each feed and sitemap.")
    feed_max_backoff_seconds: float = Field(
        3600.0, description="Longest wait before polling a failing feed again (the wait doubles per failure).")
    feed_allow_private: bool = Field(
        False, description="Fetch URLs resolving to private, loopback or link-local addresses (tests set it).")
    feed_timeout_seconds: float = Field(
        20.0, description="Longest time one download (feed, sitemap, robots.txt or page) may take.")
    feed_max_bytes: int = Field(5_000_000, description="Largest download; a bigger feed or page is skipped.")
    feed_max_redirects: int = Field(5, description="Redirects followed per download (all must stay on the site).")
    feed_host_interval_seconds: float = Field(
        1.0, description="Least time between two requests to one host (a robots.txt Crawl-delay may ask more).")
    feed_max_items: int = Field(200, description="Article links taken from one feed or sitemap per poll.")
    feed_max_sitemaps: int = Field(20, description="Sitemaps read per poll, following a sitemap index.")
    feed_user_agent: str = Field(
        "article-qa/0.1 (+feed reader)", description="User-Agent sent with every download and matched in robots.txt.")
    # the OpenAI-compatible chat API
    openai_api_key: SecretStr | None = Field(
        None, description="API key that clients of /v1 (the OpenAI-compatible chat API) must send as "
        "'Authorization: Bearer <key>'; unset: /v1 needs no key.")

    @field_validator("feeds", "sitemaps", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [u.strip() for u in text.split(",") if u.strip()]
        return value

    # index backends, distributed ingest, replicas
    index_backend: str = Field(
        "local", description="Where the index lives: local (snapshot files in the data folder) or milvus.")
    milvus_uri: str | None = Field(
        None, description="Milvus to use: a file path runs the embedded engine in this process, http://host:19530 "
        "a server or cluster; unset: <data_dir>/milvus.db (embedded).")
    milvus_token: SecretStr | None = Field(None, description="Token (or user:password) for a Milvus server.")
    milvus_collection: str = Field(
        "article_qa", description="Milvus alias name and prefix of the collections each rebuild writes.")
    milvus_index_type: str = Field(
        "FLAT", description="Dense index type: FLAT (exact, like local) or IVF_FLAT/AUTOINDEX in the embedded "
        "engine; HNSW on a Milvus server.")
    milvus_index_params: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="Build parameters of the dense index as JSON, e.g. {\"M\": 16, "
        "\"efConstruction\": 200} for HNSW.")
    milvus_search_params: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="Search parameters of the dense index as JSON, e.g. {\"ef\": 64}.")
    milvus_keep_collections: int = Field(3, description="Milvus collections (index versions) kept for rollback.")
    milvus_insert_batch: int = Field(2000, description="Chunks sent to Milvus per insert call during a rebuild.")
    article_store_dir: Path | None = Field(
        None, description="Shared folder of article and chunk records per index version, read by every replica "
        "(milvus backend); unset: <data_dir>/store.")
    ingest_workers: int = Field(
        0, description="Embed on this many local worker processes (a Dask cluster on 127.0.0.1); 0: in-process.")
    ingest_cluster: str | None = Field(
        None, description="Embed on an existing Dask cluster at this scheduler address (tcp://host:8786).")
    ingest_worker_threads: int = Field(1, description="CPU threads of each embedding worker.")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip() for o in text.split(",") if o.strip()]
        return value

    @field_validator("milvus_index_params", "milvus_search_params", mode="before")
    @classmethod
    def _parse_json_params(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
