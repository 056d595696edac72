"""A real ``article-qa serve`` on 127.0.0.1 for the benchmarks: started, awaited, measured and stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.common import ROOT, rss_mib


class BenchServer:
    """Context manager around one ``article-qa serve`` process bound to 127.0.0.1 only."""

    def __init__(self, articles: Path, data: Path, port: int, env: dict[str, str] | None = None,
                 ready_timeout: float = 300.0) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._cmd = [sys.executable, "-m", "cli.main", "serve", "--articles", str(articles), "--data", str(data),
                     "--host", "127.0.0.1", "--port", str(port)]
        self._env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        self._ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def snapshot(self) -> str | None:
        r = httpx.get(f"{self.url}/readyz", timeout=10)
        return str(r.json().get("snapshot")) if r.status_code == httpx.codes.OK else None

    def __enter__(self) -> BenchServer:
        self.proc = subprocess.Popen(self._cmd, cwd=ROOT, env=self._env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with code {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == httpx.codes.OK:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit("the server did not become ready")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
