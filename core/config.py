"""One settings object for the whole project, grouped by concern and read from ``ARTICLE_QA_*`` variables.

Each group reads its own variables (``settings.generator.model`` is ``ARTICLE_QA_GENERATOR_MODEL``), so the
variables stay one flat, documented namespace while the code asks a group for what it needs. Code that builds
settings by hand passes the variables' names: ``Settings(generator_model="qwen2.5-1.5b")`` and
``settings.override(fusion="convex")`` route each name to its group.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "ARTICLE_QA_"


def _var(name: str) -> str:
    """The variable ``ARTICLE_QA_<NAME>`` for a field whose group prefix and name do not spell it."""
    return f"{PREFIX}{name.upper()}"


def _comma_list(value: object) -> object:
    """A list from a comma-separated variable or a JSON array."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class _Group(BaseSettings):
    """The settings of one concern; each field is read from its ``ARTICLE_QA_*`` variable."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=None, extra="forbid", populate_by_name=True)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> the environment variable it is read from."""
        prefix = str(cls.model_config.get("env_prefix", ""))
        found: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            found[name] = (alias if isinstance(alias, str) else f"{prefix}{name}").upper()
        return found


class EmbeddingSettings(_Group):
    """The embedding model and how texts are batched through it."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}EMBEDDING_")

    model: str = Field(
        "minilm", description="Embedder name: 'minilm' (packaged all-MiniLM-L6-v2, English) or 'e5' (packaged "
                              "multilingual-e5-small: Chinese and English questions across both; indexes slower).")
    batch_size: int = 32
    sentence_vectors: Literal["deferred", "separate", "on_demand", "pooled"] = Field(
        "deferred", description="Evidence sentence vectors: deferred (a build publishes its passages first, served at "
                                "once with the few sentences a question reads encoded then, and publishes the same "
                                "index with every sentence vector right after), separate (every sentence encoded "
                                "before the build publishes: a first build 2.8x the passages alone), on_demand "
                                "(sentences never stored: a question encodes the few it scores, about 50 ms, kept in "
                                "memory) or pooled from their chunk's own embedding pass (in-process builds; see "
                                "docs/evaluation.md for what it costs in answers).")
    deferred_inline_sentences: int = Field(
        500, description="With deferred sentence vectors, a build with at most this many sentences not yet in the "
                         "embedding cache encodes them before it publishes (one version, a few seconds' wait).")
    coalesce_max_texts: int = Field(
        64, description="Concurrent small encodes (up to this many texts together) share one forward pass; 0: off.")


class ChunkingSettings(_Group):
    """How articles are cut into passages."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}CHUNK_")

    words: int = Field(110, description="Target words per chunk (MiniLM reads at most 256 word pieces).")
    max_words: int = 170
    overlap_sentences: int = 1


class RetrievalSettings(_Group):
    """BM25 and dense search, their fusion, date preferences and how many passages are returned."""

    candidates: int = Field(50, validation_alias=_var("retrieval_candidates"),
                            description="Candidates taken from each of BM25 and dense search.")
    fusion: Literal["rrf", "convex"] = Field("rrf", description="How BM25 and dense results are fused.")
    rrf_k: int = 60
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in fusion (BM25 has lexical_weight).")
    lexical_weight: float = 1.0
    recency_half_life_days: float | None = Field(
        7.0, description="With an as_of day, prefer articles this many days old or newer (unset: only when asked).")
    recency_weight: float = Field(2.0, description="How strongly a date preference lifts matching articles.")
    other_language_passages: int = Field(
        1, description="With a multilingual embedder and articles in both Chinese and English, this many of the "
                       "best dense passages in the language the question is not in are always retrieved (BM25 "
                       "matches only its own language, so fusion would drop them); 0: off.")
    default_top_k: int = 5
    max_top_k: int = 50


class EvidenceSettings(_Group):
    """The evidence stage: sentences that state what the question asks."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}EVIDENCE_")

    rerank_weight: float = Field(
        1.0, description="How much the best evidence sentence of an article lifts its passages (0: fused order).")


class QuestionSettings(_Group):
    """Question limits and how follow-ups become standalone questions."""

    max_chars: int = Field(1000, validation_alias=_var("max_question_chars"))
    rewriter: Literal["rules", "none"] = Field(
        "rules", validation_alias=_var("conversation_rewriter"),
        description="How follow-up questions become standalone: rules (pronouns, ellipsis) or none.")
    turns: int = Field(3, validation_alias=_var("conversation_turns"),
                       description="How many earlier turns the rewriter looks back over.")


class DecisionSettings(_Group):
    """Which reader answers by default, and when an answer is withheld."""

    answer_mode: Literal["auto", "generative", "extractive"] = Field(
        "auto", description="Default answer mode: auto (the generator when installed, after an extractive draft; "
                            "else extractive), generative or extractive.")
    abstain_threshold: float | None = Field(
        None, description="Answers with lower confidence become abstentions (unset: the threshold fitted on dev data).")
    model: Path | None = Field(
        None, validation_alias=_var("decision_model"),
        description="Fitted answer/abstain models (JSON from `article-qa calibrate --fit`; unset: the packaged "
                    "qa/decision.json).")


class GeneratorSettings(_Group):
    """The language model that reads the evidence: where it runs, what it is shown, how long it may take."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}GENERATOR_")

    url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server to read with (llama-server, vLLM, Ollama); "
                          "unset: the packaged runtime runs the model in-process.")
    api_key: SecretStr | None = Field(None, description="API key sent to the generator server, if any.")
    grammar: bool = Field(
        True, description="Send the span constraint as a GBNF grammar (llama-server); off for servers without "
                          "grammars: the answer then counts only where it is found verbatim in a passage.")
    model: str = Field(
        "qwen2.5-0.5b", description="A GGUF file path or a packaged model (qwen2.5-0.5b, qwen2.5-1.5b); with a "
                                    "server, the model name it is asked for.")
    runtime: Literal["auto", "native", "in_process"] = Field(
        "auto", description="How the local model runs: native (llama-server compiled at install for this CPU's "
                            "AVX-512/VNNI, a child process; about 1.5x faster prompt reading), in_process (the "
                            "prebuilt AVX2 wheel), or auto (native where it was built for this CPU, else in_process).")
    ctx: int = Field(4096, description="Context window of the local generator, in tokens.")
    threads: int = Field(2, description="CPU threads the generator uses.")
    max_tokens: int = Field(24, description="Longest answer the generator may write, in tokens.")
    passages: int | None = Field(
        None, description="Evidence windows shown to the generator; unset: the packaged model's own value.")
    neighbours: int | None = Field(
        None, description="Sentences either side of each evidence sentence shown; unset: the model's own value.")
    context_words: int | None = Field(
        None, description="Words of passage text shown to the generator at most (1.8 Chinese characters count as "
                          "one word); unset: the model's own value.")
    max_waiting: int = Field(
        2, description="Generative requests that may wait for the busy generator; more get 503 at once.")
    wait_seconds: float = Field(15.0, description="How long a generative request waits for the generator before a 503.")
    timeout_seconds: float = Field(
        60.0, description="A generation running longer than this is stopped and answered with 503.")


class ServiceSettings(_Group):
    """The HTTP service: where it listens, who may do what, limits, reloading, logs."""

    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: SecretStr | None = Field(None, description="Bearer token for admin calls; unset disables them.")
    openai_api_key: SecretStr | None = Field(
        None, description="API key that clients of /v1 (the OpenAI-compatible chat API) must send as "
        "'Authorization: Bearer <key>'; unset: /v1 needs no key.")
    max_upload_bytes: int = 5_000_000
    max_request_bytes: int = Field(
        65_536, description="Largest request body, except uploads to POST /articles (413 above it).")
    rate_limit_per_minute: float = Field(
        0.0, description="Questions per minute one client IP may ask (/ask); 0 turns the limit off.")
    rate_limit_burst: int = Field(10, description="Questions a client may ask at once before the rate applies.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (comma-separated); "
        "empty turns CORS off.")
    reload_poll_seconds: float = Field(1.0, description="How often the service checks for a newer snapshot.")
    progress_log_seconds: float = Field(10.0, description="How often `serve` logs a running build's progress.")
    watch_debounce_ms: int = 1500
    feedback_file: str = Field("feedback.sqlite3", description="SQLite file in the data folder for answer ratings.")
    stream_ping_seconds: int = Field(15, description="Keep-alive comment interval of /ask/stream.")
    log_format: Literal["json", "text"] = Field(
        "json", description="Service log lines: json (one object per line) or text.")
    shutdown_grace_seconds: float = Field(
        10.0, description="On SIGTERM, how long in-flight requests may take to finish.")
    request_threads: int = Field(
        8, description="Requests answered at once (worker threads); more wait in line, which bounds memory.")
    malloc_arenas: int = Field(2, description="glibc malloc arenas for the service (0: glibc's default).")

    _split_origins = field_validator("cors_origins", mode="before")(_comma_list)


class FeedSettings(_Group):
    """RSS/Atom feeds and sitemaps articles are collected from, and the limits every download obeys."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}FEED_")

    urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_var("feeds"),
        description="RSS/Atom feed URLs articles are fetched from (comma-separated); `serve` polls them, "
                    "`ingest` reads them once.")
    sitemaps: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_var("sitemaps"),
        description="Sitemap URLs articles are fetched from (comma-separated), like feeds.")
    poll_seconds: float = Field(900.0, description="How often `serve` polls each feed and sitemap.")
    max_backoff_seconds: float = Field(
        3600.0, description="Longest wait before polling a failing feed again (the wait doubles per failure).")
    allow_private: bool = Field(
        False, description="Fetch URLs resolving to private, loopback or link-local addresses (tests set it).")
    timeout_seconds: float = Field(
        20.0, description="Longest time one download (feed, sitemap, robots.txt or page) may take.")
    max_bytes: int = Field(5_000_000, description="Largest download; a bigger feed or page is skipped.")
    max_redirects: int = Field(5, description="Redirects followed per download (all must stay on the site).")
    host_interval_seconds: float = Field(
        1.0, description="Least time between two requests to one host (a robots.txt Crawl-delay may ask more).")
    max_items: int = Field(200, description="Article links taken from one feed or sitemap per poll.")
    max_sitemaps: int = Field(20, description="Sitemaps read per poll, following a sitemap index.")
    user_agent: str = Field(
        "article-qa/0.1 (+feed reader)", description="User-Agent sent with every download and matched in robots.txt.")

    _split_urls = field_validator("urls", "sitemaps", mode="before")(_comma_list)


class IndexSettings(_Group):
    """Where the index lives and how many versions are kept."""

    backend: Literal["local", "milvus"] = Field(
        "local", validation_alias=_var("index_backend"),
        description="Where the index lives: local (snapshot files in the data folder) or milvus.")
    keep_snapshots: int = Field(3, description="Snapshots kept on disk for rollback.")
    article_store_dir: Path | None = Field(
        None, description="Shared folder of article and chunk records per index version, read by every replica "
        "(milvus backend); unset: <data_dir>/store.")
    fault_delay_ms: int = Field(0, description="Pause between snapshot publish steps; only for crash tests.")


class MilvusSettings(_Group):
    """The Milvus index backend."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}MILVUS_")

    uri: str | None = Field(
        None, description="Milvus to use: a file path runs the embedded engine in this process, http://host:19530 "
        "a server or cluster; unset: <data_dir>/milvus.db (embedded).")
    token: SecretStr | None = Field(None, description="Token (or user:password) for a Milvus server.")
    collection: str = Field(
        "article_qa", description="Milvus alias name and prefix of the collections each rebuild writes.")
    index_type: str = Field(
        "FLAT", description="Dense index type: FLAT (exact, like local) or IVF_FLAT/AUTOINDEX in the embedded "
        "engine; HNSW on a Milvus server.")
    index_params: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="Build parameters of the dense index as JSON, e.g. {\"M\": 16, "
        "\"efConstruction\": 200} for HNSW.")
    search_params: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="Search parameters of the dense index as JSON, e.g. {\"ef\": 64}.")
    keep_collections: int = Field(3, description="Milvus collections (index versions) kept for rollback.")
    insert_batch: int = Field(2000, description="Chunks sent to Milvus per insert call during a rebuild.")

    @field_validator("index_params", "search_params", mode="before")
    @classmethod
    def _parse_json_params(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value


class IngestSettings(_Group):
    """Where embedding runs during a build: in-process, local workers or a Dask cluster."""

    model_config = SettingsConfigDict(env_prefix=f"{PREFIX}INGEST_")

    workers: int = Field(
        0, description="Embed on this many local worker processes (a Dask cluster on 127.0.0.1); 0: in-process.")
    cluster: str | None = Field(
        None, description="Embed on an existing Dask cluster at this scheduler address (tcp://host:8786).")
    worker_threads: int = Field(1, description="CPU threads of each embedding worker.")


class Settings(BaseSettings):
    """Every tunable of article-qa: folders at the top, the rest in one group per concern."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=None, extra="ignore")

    articles_dir: Path = Field(Path("articles"), description="Folder the articles are read from.")
    data_dir: Path = Field(Path("data"), description="Folder holding snapshots and the embedding cache.")
    threads: int = Field(2, description="CPU threads for embedding and search.")
    datasets_dir: Path = Field(Path("../shared/datasets"), description="Benchmark data for `article-qa eval`.")
    eval_dir: Path = Field(Path("data/eval"), description="Indexes and reports written by `article-qa eval`.")

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    question: QuestionSettings = Field(default_factory=QuestionSettings)
    decision: DecisionSettings = Field(default_factory=DecisionSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    feed: FeedSettings = Field(default_factory=FeedSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)

    GROUPS: ClassVar[dict[str, type[_Group]]] = {}  # filled below: group field -> its class

    @classmethod
    def variables(cls) -> dict[str, tuple[str | None, str]]:
        """Every ``ARTICLE_QA_*`` variable -> (group or None for the top level, field)."""
        found: dict[str, tuple[str | None, str]] = {
            f"{PREFIX}{name.upper()}": (None, name) for name in cls.model_fields if name not in cls.GROUPS}
        for group, kind in cls.GROUPS.items():
            found.update({env: (group, name) for name, env in kind.variables().items()})
        return found

    @classmethod
    def _route(cls, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Top-level values, and per group the values of its fields, from names spelled like the variables."""
        top: dict[str, Any] = {}
        grouped: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if key in cls.model_fields:
                top[key] = value
                continue
            where = _FLAT_NAMES.get(key.lower())
            if where is None:
                raise ValueError(f"unknown setting {key!r}: not an ARTICLE_QA_* variable")
            group, name = where
            grouped.setdefault(group, {})[name] = value
        return top, grouped

    @model_validator(mode="before")
    @classmethod
    def _group_flat_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        top, grouped = cls._route(data)
        for group, values in grouped.items():
            top[group] = cls.GROUPS[group](**values)  # its other fields still come from the environment
        return top

    def override(self, **changes: Any) -> Settings:
        """A copy with some settings changed, each named like its variable (``generator_model=...``)."""
        top, grouped = self._route(changes)
        for group, values in grouped.items():
            top[group] = getattr(self, group).model_copy(update=values)
        return self.model_copy(update=top)


Settings.GROUPS.update({name: info.annotation for name, info in Settings.model_fields.items()
                        if isinstance(info.annotation, type) and issubclass(info.annotation, _Group)})
_FLAT_NAMES: dict[str, tuple[str, str]] = {
    env.removeprefix(PREFIX).lower(): (group, name)
    for env, (group, name) in Settings.variables().items() if group is not None}


def explain_invalid(exc: ValidationError) -> str | None:
    """A settings error named by the variables a user sets ("ARTICLE_QA_FUSION: Input should be ..."); None
    when the error is not about settings."""
    groups: list[type[BaseSettings]] = [Settings, *Settings.GROUPS.values()]
    kinds = {kind.__name__: kind for kind in groups}
    kind = kinds.get(exc.title)
    if kind is None:
        return None
    names = kind.variables() if issubclass(kind, _Group) else {}
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = names.get(field) or f"{PREFIX}{field.upper()}" if field else "settings"
        lines.append(f"{variable}: {error['msg']} (got {error.get('input')!r})")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
