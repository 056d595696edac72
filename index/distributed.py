"""Embedding on worker processes or a cluster (Dask): the unit of work is ``embed_batch``, a plain function of a
batch of texts, so another engine (Ray's ``ray.remote(embed_batch)``, a process pool) is a drop-in.

Only vectors travel back; the caller writes them to the SQLite embedding cache as each batch arrives, so the
cache stays the one source of truth for unchanged text and a killed ingest keeps every finished batch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from core.config import Settings
from index.embedding import BatchEncoder, get_embedder

log = logging.getLogger(__name__)

# Batches in flight per worker: enough to keep every worker busy, few enough to bound the client's memory.
IN_FLIGHT_PER_WORKER = 3
# Seconds to wait for a cluster's scheduler (and a local cluster's workers) to answer.
CONNECT_TIMEOUT = 60.0


def embed_batch(model: str, threads: int, texts: list[str]) -> np.ndarray:
    """Embed one batch on a worker; each worker process loads the model once and keeps it."""
    return get_embedder(model, threads, 0).encode(texts, batch_size=32)


class DaskEncoder:
    """Batches embedded by Dask workers: a local cluster bound to 127.0.0.1, or an existing scheduler.

    The cluster starts on the first batch, so an ingest whose chunks are all cached starts no workers.
    """

    def __init__(self, model: str, threads: int, workers: int = 0, address: str | None = None) -> None:
        self.model = model
        self.threads = max(1, threads)
        self.workers = workers
        self.address = address
        self._cluster: Any = None
        self._client: Any = None

    def describe(self) -> str:
        return f"Dask scheduler {self.address}" if self.address else f"{self.workers} local Dask workers"

    def _start(self) -> Any:
        if self._client is not None:
            return self._client
        from distributed import Client, LocalCluster

        if self.address:
            self._client = Client(self.address, timeout=CONNECT_TIMEOUT)
        else:
            self._cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster, timeout=CONNECT_TIMEOUT)
        self._client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        return self._client

    def __call__(self, parts: list[list[str]]) -> Iterator[tuple[int, np.ndarray]]:
        if not parts:
            return
        from distributed import as_completed

        client = self._start()
        workers = max(1, len(client.scheduler_info()["workers"]))
        pending = iter(enumerate(parts))
        index_of: dict[str, int] = {}

        def submit() -> Any:
            item = next(pending, None)
            if item is None:
                return None
            j, texts = item
            future = client.submit(embed_batch, self.model, self.threads, texts, pure=False)
            index_of[future.key] = j
            return future

        first = [f for f in (submit() for _ in range(workers * IN_FLIGHT_PER_WORKER)) if f is not None]
        queue = as_completed(first)
        for future in queue:
            vectors = np.asarray(future.result(), dtype=np.float32)
            j = index_of.pop(future.key)
            future.release()
            following = submit()
            if following is not None:
                queue.add(following)
            yield j, vectors

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None


@contextlib.contextmanager
def embedding_executor(settings: Settings) -> Iterator[BatchEncoder | None]:
    """The configured way to embed an ingest's new chunks: None (in this process, today's default) or Dask."""
    if not settings.ingest.cluster and settings.ingest.workers <= 0:
        yield None
        return
    encoder = DaskEncoder(settings.embedding.model, settings.ingest.worker_threads, settings.ingest.workers,
                          settings.ingest.cluster)
    log.info("embedding on %s", encoder.describe())
    try:
        yield encoder
    finally:
        encoder.close()
