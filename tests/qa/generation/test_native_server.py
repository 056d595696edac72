"""The native llama-server (compiled for this CPU by scripts/build_llama_server.py): chosen only for the CPU it was
built for, reading as the in-process wheel does, and never outliving the process that started it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cpu import cpu_flags
from core.errors import GeneratorUnavailableError
from qa.generation.base import finish
from qa.generation.chat_server import ChatServerGenerator
from qa.generation.constraint import SpanConstraint
from qa.generation.local_server import LocalServer, start_server
from qa.generation.models import cache_dir, resolve
from qa.generation.native_server import (
    BINARY,
    NativeServer,
    build_dir,
    extra_options,
    native_binary,
    runtime_version,
)
from qa.generation.prompts import PromptPassage, reading_messages
from tests.conftest import ROOT, needs_generator

AVX2 = {"avx", "avx2", "fma", "f16c", "bmi2", "sse4_2"}
AVX512 = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
BUILT = native_binary(cache_dir())
needs_native = pytest.mark.skipif(BUILT is None, reason="no llama-server was built for this CPU (scripts/install.sh "
                                                        "builds one where the CPU has AVX-512 or AVX-VNNI)")
PASSAGES = [PromptPassage("Storm news", "2023-11-14", "Officials said 1,200 homes lost power on Tuesday and two "
                                                      "bridges were closed until Friday."),
            PromptPassage("Museum news", "2023-05-02", "The museum's new director, Ann Lee, started work in May.")]
QUESTIONS = ["How many homes lost power?", "Who is the museum's new director?", "When do the bridges reopen?",
             "Who designed the bridges?"]


def test_only_instruction_sets_beyond_the_wheels_make_a_native_build_worth_it() -> None:
    assert extra_options(AVX2) == ()
    assert extra_options(AVX2 | AVX512 | {"avx512_vnni"}) == ("GGML_AVX512", "GGML_AVX512_VNNI")
    assert extra_options(AVX2 | {"avx_vnni"}) == ("GGML_AVX_VNNI",)
    assert extra_options((AVX2 - {"bmi2"}) | AVX512) == ()  # below the wheel's own level: never
    assert extra_options(AVX2 | {"avx512f", "avx512_vnni"}) == ("GGML_AVX512_VNNI",)  # no full AVX-512 set


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx avx2 avx512f\nbugs\t\t: spectre\n")
    assert cpu_flags(cpuinfo) >= {"avx", "avx2", "avx512f"} and "spectre" not in cpu_flags(cpuinfo)


@needs_generator
def test_a_binary_is_found_only_for_the_cpu_it_was_built_for(tmp_path: Path) -> None:
    version = runtime_version()
    assert version is not None
    built_for = ("GGML_AVX512", "GGML_AVX512_VNNI")
    binary = build_dir(tmp_path, version, built_for) / BINARY
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert native_binary(tmp_path, AVX2 | AVX512 | {"avx512_vnni"}) == binary
    assert native_binary(tmp_path, AVX2 | AVX512) is None  # another CPU: the wheel, not a crash
    assert native_binary(tmp_path, AVX2) is None


@needs_generator
def test_asking_for_the_native_runtime_without_a_build_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(GeneratorUnavailableError, match="build_llama_server"):
        start_server("unused.gguf", tmp_path, "native")


def _readings(url: str) -> list[tuple[str | None, float]]:
    generator = ChatServerGenerator(url)
    constraint = SpanConstraint([" ".join(p.body.split()) for p in PASSAGES])
    results = [finish(generator.read(reading_messages(q, PASSAGES), constraint, 16)) for q in QUESTIONS]
    return [(r.text, r.first_logprob) for r in results]


@needs_native
def test_the_native_server_reads_as_the_in_process_wheel_does() -> None:
    model = str(resolve("qwen2.5-0.5b"))
    native = start_server(model, cache_dir(), "auto")
    wheel = start_server(model, cache_dir(), "in_process")
    try:
        assert isinstance(native, NativeServer) and isinstance(wheel, LocalServer)
        ours, theirs = _readings(native.base_url), _readings(wheel.base_url)
    finally:
        native.close()
        wheel.close()
    assert [text for text, _ in ours] == [text for text, _ in theirs]
    assert "1,200" in (ours[0][0] or "") and "Ann Lee" in (ours[1][0] or "")
    assert all(abs(a - b) < 0.05 for (_, a), (_, b) in zip(ours, theirs, strict=True))  # same model, other kernels


def _guarded(guard: int) -> list[int]:
    """A native server's guard process and the server under it."""
    found = subprocess.run(["pgrep", "-P", str(guard)], capture_output=True, text=True).stdout.split()
    return [guard, *(int(p) for p in found)]


@needs_native
def test_the_native_server_stops_when_closed_and_when_its_owner_is_killed(tmp_path: Path) -> None:
    assert BUILT is not None
    model = str(resolve("qwen2.5-0.5b"))
    server = NativeServer(BUILT, model, 512)
    assert server.guard_pid is not None
    started = _guarded(server.guard_pid)
    assert len(started) == 2  # the guard and the server
    server.close()
    assert not any(_alive(pid) for pid in started)

    ready = tmp_path / "ready"
    owner = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom pathlib import Path\n"
         "from qa.generation.native_server import NativeServer\n"
         f"s = NativeServer(Path({str(BUILT)!r}), {model!r}, 512)\n"
         f"Path({str(ready) + '.partial'!r}).write_text(str(s.guard_pid))\n"
         f"Path({str(ready) + '.partial'!r}).rename({str(ready)!r})\ntime.sleep(300)\n"],
        cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and time.monotonic() < deadline and owner.poll() is None:
            time.sleep(0.2)
        assert ready.exists(), "the owner did not start its server"
        theirs = _guarded(int(ready.read_text()))
        assert len(theirs) == 2  # the guard and the server
        owner.kill()  # no atexit runs: only the guard can stop the server
        owner.wait()
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in theirs) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in theirs)
    finally:
        if owner.poll() is None:
            owner.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


def test_the_build_names_its_instruction_sets_and_nothing_that_needs_the_network() -> None:
    spec = importlib.util.spec_from_file_location("build_llama_server", ROOT / "scripts" / "build_llama_server.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    options = set(script.cmake_options(("GGML_AVX512", "GGML_AVX512_VNNI")))
    assert {"-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=ON", "-DGGML_AVX2=ON", "-DGGML_AVX512_BF16=OFF"} <= options
    assert {"-DGGML_NATIVE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_TILE=OFF"} <= options  # AMX dies here
    assert {"-DLLAMA_CURL=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_LLGUIDANCE=OFF"} <= options  # offline
