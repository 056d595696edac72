"""The page's script is ES modules served as they are: index.html loads js/main.js as a module, and every module
it imports, directly or not, is served by the real server as JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.conftest import LiveServer
from tests.service.browser import STATIC

ENTRY = "/static/js/main.js"
MAX_LINES = 400
JS_TYPES = ("text/javascript", "application/javascript")
# Static imports and re-exports: `import { a } from "./x.js"`, `import "./x.js"`, `export { a } from "./x.js"`.
IMPORT = re.compile(r"^\s*(?:import\s*|(?:import|export)\b[^;\"'`]*?\bfrom\s*)[\"']([^\"']+)[\"']", re.M)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))


def test_the_page_loads_its_entry_module(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/", timeout=10)
    assert response.status_code == 200
    parser = _Scripts()
    parser.feed(response.text)
    assert parser.scripts == [{"type": "module", "src": ENTRY}]


def test_every_imported_module_is_served_as_javascript(live_server: LiveServer) -> None:
    base = live_server.url.rstrip("/")
    seen: set[str] = set()
    queue = [ENTRY]
    with httpx.Client(base_url=base, timeout=10) as client:
        while queue:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].split(";")[0].strip() in JS_TYPES, (path, response.headers)
            lines = response.text.count("\n") + (not response.text.endswith("\n"))
            assert lines <= MAX_LINES, f"{path} has {lines} lines; split it by concern"
            for specifier in IMPORT.findall(response.text):
                assert re.fullmatch(r"\./[a-z][a-z0-9-]*\.js", specifier), f"{path} imports {specifier!r}"
                queue.append(path.rsplit("/", 1)[0] + specifier[1:])
    assert len(seen) > 1, "main.js imports no module"
    # Every module in the folder is part of the page; none is left over.
    assert seen == {f"/static/js/{module.name}" for module in (STATIC / "js").glob("*.js")}
