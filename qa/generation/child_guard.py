"""Runs a command as a child and stops it when the process that started the guard goes away.

``python -m qa.generation.child_guard PARENT_PID COMMAND...``: a model server started by the service must not
outlive it, even when the service is killed outright (no ``atexit`` runs then). The guard notices that its
parent changed (it was re-parented) and stops the child; SIGTERM and SIGINT sent to the guard reach the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

POLL_SECONDS = 0.5  # how often the guard checks that its parent is alive
STOP_SECONDS = 10.0  # how long the child may take to stop before it is killed
MIN_ARGS = 2  # a parent pid and a command


def _stop(child: subprocess.Popen[bytes]) -> int:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()


def main(argv: list[str]) -> int:
    if len(argv) < MIN_ARGS or not argv[0].isdigit():
        print("usage: python -m qa.generation.child_guard PARENT_PID COMMAND...", file=sys.stderr)
        return 2
    parent = int(argv[0])
    child = subprocess.Popen(argv[1:])
    stopping = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    while child.poll() is None:
        if stopping or os.getppid() != parent:
            return _stop(child)
        time.sleep(POLL_SECONDS)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
