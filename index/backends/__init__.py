"""Index backends behind one interface, chosen by ``ARTICLE_QA_INDEX_BACKEND`` (txtai-style factory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.config import Settings
from index.backends.base import IndexBackend


def _local(settings: Settings, data_dir: Path) -> IndexBackend:
    from index.backends.local import LocalBackend

    return LocalBackend(data_dir, settings.index.keep_snapshots)


def _milvus(settings: Settings, data_dir: Path) -> IndexBackend:
    from index.backends.milvus import MilvusBackend

    return MilvusBackend.from_settings(settings, data_dir)


BACKENDS: dict[str, Callable[[Settings, Path], IndexBackend]] = {"local": _local, "milvus": _milvus}


def backend_for(settings: Settings, data_dir: Path | None = None) -> IndexBackend:
    """The configured backend over ``data_dir`` (default: the settings' data folder)."""
    try:
        factory = BACKENDS[settings.index.backend]
    except KeyError:
        raise ValueError(f"unknown index backend {settings.index.backend!r}; choose one of {sorted(BACKENDS)}") \
            from None
    return factory(settings, data_dir if data_dir is not None else settings.data_dir)
