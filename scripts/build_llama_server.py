"""Compile llama.cpp's server for this CPU's own instruction sets (AVX-512, VNNI), once, into the cache folder.

    .venv/bin/python scripts/build_llama_server.py [--jobs N] [--force]

The source is the source distribution of the ``xllamacpp`` version installed (from PyPI, the same llama.cpp
the prebuilt wheel holds), so the native server and the in-process one answer alike; only the instruction sets
differ. Nothing is built where the CPU has none beyond the wheel's AVX2 (the wheel is then as fast) or where no
compiler is found: the service then runs the wheel, as before. A build takes about 5 minutes on two cores;
the binary lands atomically in ``$ARTICLE_QA_CACHE_DIR/llama-server/<version>-<instruction sets>/``, and
``ARTICLE_QA_GENERATOR_RUNTIME=auto`` (the default) uses it from then on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.cpu import cpu_flags  # noqa: E402
from index.fsutil import sha256_file  # noqa: E402
from qa.generation.models import cache_dir  # noqa: E402
from qa.generation.native_server import (  # noqa: E402
    BASE_OPTIONS,
    BINARY,
    EXTRA_OPTIONS,
    RUNTIME_PACKAGE,
    build_dir,
    extra_options,
    runtime_version,
)

SOURCE_DIR = "thirdparty/llama.cpp"  # where the runtime's source distribution keeps llama.cpp
FIXED_OPTIONS = {  # a server binary and nothing else: no network code, no web UI download, no AMX
    "CMAKE_BUILD_TYPE": "Release", "BUILD_SHARED_LIBS": "OFF", "GGML_NATIVE": "OFF", "GGML_OPENMP": "ON",
    "GGML_AMX_TILE": "OFF", "GGML_AMX_INT8": "OFF", "GGML_AMX_BF16": "OFF", "LLAMA_CURL": "OFF",
    "LLAMA_OPENSSL": "OFF", "LLAMA_LLGUIDANCE": "OFF", "LLAMA_BUILD_UI": "OFF", "LLAMA_USE_PREBUILT_UI": "OFF",
    "LLAMA_BUILD_TESTS": "OFF", "LLAMA_BUILD_EXAMPLES": "OFF", "LLAMA_BUILD_TOOLS": "ON",
    "LLAMA_BUILD_SERVER": "ON",
}


def log(message: str) -> None:
    print(f"build_llama_server: {message}", file=sys.stderr, flush=True)


def cmake_options(extra: tuple[str, ...]) -> list[str]:
    chosen = {**FIXED_OPTIONS, **{name: "ON" for name, _ in BASE_OPTIONS},
              **{name: ("ON" if name in extra else "OFF") for name, _ in EXTRA_OPTIONS}}
    return [f"-D{name}={value}" for name, value in sorted(chosen.items())]


def fetch_source(version: str, work: Path) -> Path:
    """The runtime's source distribution from the package index, with only its llama.cpp tree unpacked."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--no-binary", ":all:", "--dest", str(work), f"{RUNTIME_PACKAGE}=={version}"],
                   check=True)
    archive = next(work.glob(f"{RUNTIME_PACKAGE}-*.tar.gz"))
    with tarfile.open(archive) as tar:
        wanted = [m for m in tar.getmembers() if f"/{SOURCE_DIR}/" in m.name]
        tar.extractall(work, members=wanted, filter="data")
    return next(work.glob(f"{RUNTIME_PACKAGE}-*/{SOURCE_DIR}"))


def build(source: Path, work: Path, extra: tuple[str, ...], jobs: int) -> Path:
    out = work / "build"
    subprocess.run(["cmake", "-S", str(source), "-B", str(out), *cmake_options(extra)], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["nice", "cmake", "--build", str(out), "--target", BINARY, "--parallel", str(jobs)],
                   check=True, stdout=subprocess.DEVNULL)
    return out / "bin" / BINARY


def install(binary: Path, target: Path, version: str, extra: tuple[str, ...], seconds: float) -> Path:
    """Put the binary in place atomically: a folder renamed into place, so a half-copied one is never found."""
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    staging.chmod(0o755)
    shutil.copy2(binary, staging / BINARY)
    subprocess.run([str(staging / BINARY), "--version"], check=True, capture_output=True)
    info = {"runtime": RUNTIME_PACKAGE, "version": version, "options": list(extra),
            "sha256": sha256_file(staging / BINARY), "build_seconds": round(seconds, 1),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (staging / "build.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target / BINARY


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--force", action="store_true", help="build again even if a binary is in place")
    args = parser.parse_args()
    version = runtime_version()
    if version is None:
        log(f"{RUNTIME_PACKAGE} is not installed: nothing to build against")
        return 0
    extra = extra_options(cpu_flags())
    if not extra:
        log("this CPU has no instruction set beyond the prebuilt wheel's (AVX2): it is as fast; nothing to build")
        return 0
    target = build_dir(cache_dir(), version, extra)
    if (target / BINARY).is_file() and not args.force:
        log(f"already built: {target / BINARY}")
        return 0
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        log(f"no {', '.join(missing)} here: the prebuilt wheel stays in use (install them and run this again)")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"compiling {BINARY} of {RUNTIME_PACKAGE} {version} with {', '.join(extra)} (a few minutes, once)")
    with tempfile.TemporaryDirectory(prefix="llama-build-") as tmp:
        work = Path(tmp)
        try:
            binary = build(fetch_source(version, work), work, extra, args.jobs)
            placed = install(binary, target, version, extra, time.monotonic() - started)
        except (subprocess.CalledProcessError, OSError, StopIteration) as exc:
            log(f"the build failed ({exc}): the prebuilt wheel stays in use")
            return 0
    log(f"built {placed} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
