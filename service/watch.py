"""``serve --watch``: a changed articles folder queues a rebuild (debounced by watchfiles)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.sources import SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)


class FolderWatcher:
    def __init__(self, folder: Path, on_change: Callable[[str], Any], debounce_ms: int) -> None:
        self.folder = folder
        self.on_change = on_change
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        from watchfiles import watch

        def relevant(_: Any, path: str) -> bool:
            name = Path(path).name
            return not name.startswith(".") and Path(path).suffix.lower() in SUPPORTED_EXTENSIONS

        for changes in watch(self.folder, watch_filter=relevant, debounce=self.debounce_ms, stop_event=self._stop,
                             rust_timeout=1000, yield_on_timeout=False):
            log.info("articles folder changed (%d files); queueing a rebuild", len(changes))
            self.on_change("watch")
