"""The packaged runtime: llama.cpp's own server, run in-process by ``xllamacpp`` (a prebuilt wheel, no compiler)
or, where ``scripts/build_llama_server.py`` compiled it for this CPU, as a native child process.

Either way it listens on a free port of 127.0.0.1, and the reader talks to it exactly as to a remote
OpenAI-compatible server (``ChatServerGenerator``), so the local and the remote path are one code path.
``article-qa model-server`` runs the same server on its own, for replicas that share one model.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
from pathlib import Path
from typing import Any, Literal, Protocol

from core.errors import GeneratorUnavailableError
from qa.generation.native_server import NativeServer, native_binary

Runtime = Literal["auto", "native", "in_process"]


def runtime_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


class ModelServer(Protocol):
    """A running local model server: where it answers, which file it serves, and how to stop it."""

    base_url: str
    model_path: str

    def close(self) -> None: ...


class LocalServer:
    """One GGUF model loaded into an in-process llama-server; ``base_url`` is where it answers."""

    def __init__(self, model_path: str, n_ctx: int = 4096, threads: int = 2, host: str = "127.0.0.1",
                 port: int = 0, api_keys: tuple[str, ...] = ()) -> None:
        # Spinning OpenMP threads starve each other on a busy 2-core machine (docs/benchmarks.md).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import xllamacpp

        params: Any = xllamacpp.CommonParams()
        params.model.path = model_path
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = [host]
        params.port = port
        params.api_keys = list(api_keys)
        params.sampling.temp = 0.0
        params.verbosity = -1
        params.endpoint_metrics = False
        self._server: Any = xllamacpp.Server(params)
        self.base_url = str(self._server.listening_address)
        self.model_path = model_path
        atexit.register(self.close)

    def close(self) -> None:
        self._server = None


def start_server(model_path: str, cache: Path, runtime: Runtime = "auto", n_ctx: int = 4096, threads: int = 2,
                 host: str = "127.0.0.1", port: int = 0, api_keys: tuple[str, ...] = ()) -> ModelServer:
    """The model served by the runtime the setting names: the native build for this CPU when there is one
    (``auto``) or when asked for (``native``, an error without it), else the in-process wheel."""
    binary = native_binary(cache) if runtime != "in_process" else None
    if binary is not None:
        return NativeServer(binary, model_path, n_ctx, threads, host, port, api_keys)
    if runtime == "native":
        raise GeneratorUnavailableError(
            "ARTICLE_QA_GENERATOR_RUNTIME=native, but no llama-server was built for this CPU in "
            f"{cache / 'llama-server'}; run scripts/build_llama_server.py (it says why it builds nothing)")
    if not runtime_installed():
        raise GeneratorUnavailableError("the local generator needs xllamacpp; run scripts/install.sh")
    return LocalServer(model_path, n_ctx, threads, host, port, api_keys)
