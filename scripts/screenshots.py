"""Refresh the README's screenshots of the chat page (``make screenshots``); the tests never write into docs/.

Starts ``article-qa serve`` over the seed articles on a free port of 127.0.0.1 with the default answer mode,
asks one seed question in Debian's Chromium at desktop and phone width, and saves docs/screenshot-*.png.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "When was the Manchester joint centre founded?"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--articles",
                                   str(ROOT.parent / "shared" / "articles"), "--data", data, "--port", str(port)],
                                  cwd=ROOT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == httpx.codes.OK:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for name, (width, height) in SIZES.items():
                    page = browser.new_page(viewport={"width": width, "height": height}, reduced_motion="reduce")
                    page.goto(url + "/")
                    page.wait_for_selector("#status[data-state='ready']", timeout=120_000)
                    page.locator("#question").fill(QUESTION)
                    page.locator("#question").press("Enter")
                    page.wait_for_selector(".answer-card[data-state='answered']", timeout=120_000)
                    target = ROOT / "docs" / f"screenshot-{name}.png"
                    page.screenshot(path=str(target))
                    print(f"wrote {target}")
                    page.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
