"""The packaged runtime: llama.cpp's own server run in-process by ``xllamacpp`` (a prebuilt wheel, no compiler).

Inside the service it listens on a free port of 127.0.0.1, and the reader talks to it exactly as to a remote
OpenAI-compatible server (``ChatServerGenerator``), so the local and the remote path are one code path.
``article-qa model-server`` runs the same server on its own, for replicas that share one model.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
from typing import Any


def runtime_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


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
