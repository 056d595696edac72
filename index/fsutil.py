"""Durable file operations: write aside, fsync, rename; and an exclusive lock on a data folder."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import IndexBusyError, IndexWriteError

DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
LOW_SPACE_BYTES = 1 << 20


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_hashed(path: Path, data: bytes) -> str:
    """Write ``data`` durably (flushed and fsynced) and return its SHA-256, with no second read of the file."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float = 600.0) -> Iterator[None]:
    """Serialises writers of one data folder across processes; the OS drops it if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"another process is writing to {path.parent}; try again later") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _disk_full(exc: BaseException, where: Path) -> bool:
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return True
    if "full" in str(exc).lower() or "no space" in str(exc).lower():
        return True
    try:
        return shutil.disk_usage(where).free < LOW_SPACE_BYTES
    except OSError:
        return False


@contextlib.contextmanager
def index_writes(where: Path, what: str,
                 kinds: tuple[type[Exception], ...] = (OSError, RuntimeError, sqlite3.Error)) -> Iterator[None]:
    """Turns a failed write (full disk, I/O error, a library's write error) into one clear ``IndexWriteError``."""
    try:
        yield
    except kinds as exc:
        if _disk_full(exc, where):
            raise IndexWriteError(
                f"the disk holding {where} is full while writing {what}; free some space and rebuild "
                f"(the previous snapshot is kept) [{type(exc).__name__}: {exc}]") from exc
        raise IndexWriteError(f"could not write {what} in {where}: {type(exc).__name__}: {exc}") from exc


def open_cache_db(path: Path) -> sqlite3.Connection:
    """A WAL-mode SQLite connection for the on-disk caches: readers never block the one writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    return con
