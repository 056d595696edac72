"""llama.cpp's server compiled for this CPU's own instruction sets (AVX-512, VNNI), run as a child process.

The prebuilt runtime wheel (``xllamacpp``) is compiled for AVX2 so that it runs on any x86-64 machine. On a CPU
with AVX-512 and VNNI the same llama.cpp source compiled with them reads a prompt about 1.5 times as fast
(docs/benchmarks.md, "The generator built for this CPU"). ``scripts/build_llama_server.py`` compiles it once at
install, from the source distribution of the very ``xllamacpp`` version installed, into the cache folder under
a name that lists the instruction sets it uses; here it is found for the running CPU and started on a free port
of 127.0.0.1. A binary built for other instruction sets is never picked, so a cache carried to another machine
falls back to the wheel instead of crashing.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import httpx

from core.cpu import cpu_flags
from core.errors import GeneratorUnavailableError

RUNTIME_PACKAGE = "xllamacpp"  # the wheel whose llama.cpp source the native server is built from
BINARY = "llama-server"

# ggml build options of the prebuilt wheel (its system info: AVX AVX2 F16C FMA BMI2), each with the
# /proc/cpuinfo flags it needs; every one of them is required before a native build is worth anything.
BASE_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_AVX", ("avx",)), ("GGML_AVX2", ("avx2",)), ("GGML_FMA", ("fma",)), ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
)
# Options beyond the wheel's, in ggml's names. AMX is left out on purpose: it needs the kernel and the
# hypervisor to enable its tile state, and where they do not (as on the machines this was measured on) the
# first prompt dies with an illegal instruction.
EXTRA_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512f", "avx512vbmi")),
    ("GGML_AVX512_VNNI", ("avx512f", "avx512_vnni")),
    ("GGML_AVX512_BF16", ("avx512f", "avx512_bf16")),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
)
START_SECONDS = 120.0  # longest wait for the child to load its model and listen
STOP_SECONDS = 10.0  # how long a stopped child may take before it is killed
LOG_LINES = 40  # last lines of the child's log kept for error messages
LISTENING = re.compile(r"listening on (http://\S+)")


def extra_options(flags: Iterable[str]) -> tuple[str, ...]:
    """The ggml options beyond the wheel's that a CPU with ``flags`` supports (empty: the wheel is as fast)."""
    have = set(flags)
    if not all(set(needs) <= have for _, needs in BASE_OPTIONS):
        return ()
    return tuple(option for option, needs in EXTRA_OPTIONS if set(needs) <= have)


def runtime_version() -> str | None:
    try:
        return importlib.metadata.version(RUNTIME_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_dir(cache: Path, version: str, options: tuple[str, ...]) -> Path:
    """Where the binary for this runtime version and these instruction sets lives."""
    tag = "-".join(o.removeprefix("GGML_").lower() for o in options)
    return cache / "llama-server" / f"{version}-{tag}"


def native_binary(cache: Path, flags: Iterable[str] | None = None) -> Path | None:
    """The native server built for the installed runtime version and this CPU, if there is one."""
    version = runtime_version()
    options = extra_options(cpu_flags() if flags is None else flags)
    if version is None or not options:
        return None
    binary = build_dir(cache, version, options) / BINARY
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


class NativeServer:
    """One GGUF model served by a native ``llama-server`` child on 127.0.0.1; ``base_url`` is where it answers.

    The child runs under a small guard process that stops it when this process goes away, even by SIGKILL, so
    a crashed service never leaves a model server holding its memory.
    """

    def __init__(self, binary: Path, model_path: str, n_ctx: int = 4096, threads: int = 2,
                 host: str = "127.0.0.1", port: int = 0, api_keys: tuple[str, ...] = ()) -> None:
        command = [str(binary), "--model", model_path, "--ctx-size", str(n_ctx), "--threads", str(threads),
                   "--threads-batch", str(threads), "--parallel", "1", "--temp", "0", "--host", host,
                   "--port", str(port), "--no-ui"]
        env = {**os.environ, "LLAMA_ARG_OFFLINE": "1", "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        env.pop("LLAMA_API_KEY", None)
        if api_keys:
            env["LLAMA_API_KEY"] = ",".join(api_keys)  # not on the command line, where any user could read it
        self.model_path = model_path
        self.binary = binary
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._url: str | None = None
        self._listening = threading.Event()
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-m", "qa.generation.child_guard", str(os.getpid()), *command],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read_log, name="llama-server-log", daemon=True).start()
        atexit.register(self.close)
        self.base_url = self._wait_listening()

    @property
    def guard_pid(self) -> int | None:
        """The guard process's id (the server runs as its child), while it runs."""
        return self._process.pid if self._process is not None else None

    def _read_log(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        for line in process.stdout:
            self._log.append(line.rstrip())
            found = LISTENING.search(line) if self._url is None else None
            if found:
                self._url = found.group(1)
                self._listening.set()
        self._listening.set()

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self._listening.wait(0.1) is False:
            pass
        url = self._url
        if url is not None:
            try:
                healthy = httpx.get(f"{url}/health", timeout=5).status_code == httpx.codes.OK
            except httpx.HTTPError:
                healthy = False
            if healthy:
                return url
        log = "\n".join(self._log)
        self.close()
        raise GeneratorUnavailableError(f"the native llama-server ({self.binary}) did not start:\n{log[-2000:]}")

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
