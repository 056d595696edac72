"""`article-qa serve` as a real process: SIGTERM lets an in-flight request finish; logs are JSON with request ids."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, SeedIndex, free_port

QUESTION = "When was the Manchester joint centre founded?"


def _serve(tmp_path: Path, seed_index: SeedIndex) -> tuple[subprocess.Popen[bytes], str, Path]:
    articles, data = tmp_path / "articles", tmp_path / "data"
    shutil.copytree(seed_index.articles_dir, articles)
    shutil.copytree(seed_index.data_dir, data)
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "ARTICLE_QA_SHUTDOWN_GRACE_SECONDS": "30", "ARTICLE_QA_LOG_FORMAT": "json"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--articles", str(articles), "--data", str(data),
             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url, log_path
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not become ready: {log_path.read_text()[-2000:]}")


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_sigterm_finishes_the_request_in_flight_and_logs_are_json(tmp_path: Path, seed_index: SeedIndex) -> None:
    proc, url, log_path = _serve(tmp_path, seed_index)
    try:
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps({"question": QUESTION}).encode()
        head = (f"POST /ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nX-Request-ID: shutdown-test-1\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(head + body[:10])  # the request is now in flight: headers in, body still coming
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert proc.poll() is None, "the server must wait for the request in flight"
            refused = False
            try:
                httpx.get(f"{url}/healthz", timeout=2)
            except httpx.HTTPError:
                refused = True
            assert refused, "no new connections are accepted while shutting down"
            sock.sendall(body[10:])
            status, headers, payload = _read_response(sock)
        assert status == 200, payload
        assert json.loads(payload)["answer"] == "2014"
        assert headers["x-request-id"] == "shutdown-test-1"
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    records: list[dict[str, Any]] = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    assert records, log_path.read_text()[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r.get("request_id") == "shutdown-test-1" and r.get("route") == "/ask"]
    assert len(access) == 1, records[-5:]
    assert access[0]["status"] == 200 and access[0]["method"] == "POST" and access[0]["duration_ms"] > 0
    assert any(r.get("route") == "/readyz" and r.get("request_id") for r in records)
    assert any("shutdown complete" in r["message"] for r in records), "the shutdown ran to its end"
