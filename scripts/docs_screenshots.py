"""Look at the built documentation site as a reader would, in headless Chromium.

Builds the site (or takes `--site DIR`), serves it on loopback, opens pages with every request
to any other host blocked, saves screenshots and checks that:

* no page requests anything from another host (fonts, scripts, a CDN), the search worker
  included, and no local request fails (a missing asset);
* no page throws or logs a JavaScript error;
* code is highlighted, every diagram is drawn as an SVG (by the local mermaid copy), the HTTP
  reference shows every operation of openapi.json, anchors land, and search finds the pages
  it should.

    python scripts/docs_screenshots.py --out /tmp/shots [--chromium /usr/bin/chromium]

Needs `pip install -r docs/requirements-browser.txt` and a Chromium: the system's, found on
PATH (`apt-get install chromium`; scripts/test.sh installs it on Debian), or one installed by
`playwright install chromium`. Exits 1 when a check fails. The test suite runs the same checks
(docs/test_docs_site.py).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    code: bool = False  # the page must show highlighted code
    diagram: bool = False  # the page must show a drawn diagram
    operations: bool = False  # the page must show every operation of openapi.json


SHOTS = (
    Shot("home", "/", code=True),
    Shot("getting-started", "/getting-started/", code=True),
    Shot("guide-search-and-query", "/guides/search-and-query/", code=True),
    Shot("concepts-retrieval", "/concepts/retrieval/", diagram=True),
    Shot("concepts-time", "/concepts/time/", code=True, diagram=True),
    Shot("reference-http", "/reference/http/", operations=True),
    Shot("reference-http-operation", "/reference/http/#op-search-search"),
    Shot("reference-python", "/reference/python/", code=True),
    Shot("errors", "/errors/#missing-scope"),
)
# Each term must find a result on the page named with it (the search index is the site's own).
SEARCH_TERMS = {"pgvector": "Self-hosting", "known_as_of": "Valid time and known time"}

# Material draws each diagram into a *closed* shadow root, which no script can look into; this
# runs before the page's own scripts and opens them, so the drawn SVG can be checked.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, Object.assign({}, init, { mode: "open" }));
};
"""


def operations() -> dict[str, str]:
    """The HTTP reference's anchor for each operation of openapi.json -> `METHOD /path`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from docs_reference import OPENAPI, _op_anchor

    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {
        _op_anchor(op["operationId"]): f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


def build_site(target: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(target)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def find_chromium(explicit: str | None) -> str | None:
    """A Chromium to drive: --chromium, $CHROMIUM, or one on PATH (else playwright's own)."""
    if explicit:
        return explicit
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def check_site(site: Path, out: Path, chromium: str | None) -> list[str]:
    """Screenshots into `out`; returns the failed checks (empty when all is well)."""
    # An optional dependency (docs/requirements-browser.txt).
    from playwright.sync_api import (  # type: ignore[import-not-found, unused-ignore]
        Error as PlaywrightError,
    )
    from playwright.sync_api import (  # type: ignore[import-not-found, unused-ignore]
        Page,
        Request,
        Response,
        Route,
        sync_playwright,
    )

    out.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    elsewhere: list[str] = []  # every request that was not for the local server
    requested: list[str] = []  # every request for it
    missing: list[str] = []  # local requests answered with an error

    def route(r: Route) -> None:
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    def on_request(request: Request) -> None:
        (requested if request.url.startswith(base + "/") else elsewhere).append(request.url)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            missing.append(f"{response.status} {response.url}")

    def settle(page: Page, path: str) -> None:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")

    try:
        with sync_playwright() as p:
            # As root in a container: no sandbox, and no reliance on a small /dev/shm.
            flags = ["--no-sandbox", "--disable-dev-shm-usage"]
            browser = p.chromium.launch(executable_path=chromium, args=flags)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            # Context-wide, so requests from the search worker are seen and held to it too.
            context.route("**/*", route)
            context.on("request", on_request)
            context.on("response", on_response)
            context.add_init_script(OPEN_SHADOW_ROOTS)
            page = context.new_page()
            page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console error: {m.text}") if m.type == "error" else None
                ),
            )
            for shot in SHOTS:
                settle(page, shot.path)
                if shot.code and page.locator(".highlight code span[class]").count() < 5:
                    problems.append(f"{shot.path}: no highlighted code")
                if shot.diagram:
                    problems += _check_diagrams(page, shot.path, PlaywrightError)
                if shot.operations:
                    problems += _check_operations(page, shot.path)
                if "#" in shot.path:
                    anchor = page.locator("#" + shot.path.split("#", 1)[1])
                    box = anchor.bounding_box() if anchor.count() == 1 else None
                    if box is None or not 0 <= box["y"] < 450:
                        problems.append(f"{shot.path}: the page did not scroll to the anchor")
                page.wait_for_timeout(400)  # the header's title fades when scrolled
                page.screenshot(path=str(out / f"{shot.name}.png"))
            for term, expected in SEARCH_TERMS.items():
                settle(page, "/")
                page.keyboard.press("/")
                page.keyboard.type(term)
                results = page.locator(".md-search-result__item")
                try:
                    results.first.wait_for(timeout=20_000)
                except PlaywrightError:
                    problems.append(f"search for {term!r}: no results")
                else:
                    titles = " | ".join(
                        page.locator(".md-search-result__article h1").all_inner_texts()
                    )
                    if expected not in titles:
                        problems.append(f"search for {term!r}: no {expected!r} among {titles!r}")
                    if page.locator(".md-search-result mark").count() == 0:
                        problems.append(f"search for {term!r}: the term is not highlighted")
                page.screenshot(path=str(out / f"search-{term}.png"))
            browser.close()
    finally:
        server.shutdown()
    if not any(url.endswith("/search/search_index.json") for url in requested):
        problems.append("the search index was never fetched")
    problems += [f"a local request failed: {what}" for what in sorted(set(missing))]
    problems += [f"a request to another host: {url}" for url in sorted(set(elsewhere))]
    return problems


def _check_diagrams(page: Any, path: str, error: type[Exception]) -> list[str]:
    """Every diagram of the page was drawn: an SVG with boxes and their labels."""
    # The theme swaps each <pre class="mermaid"> for a <div class="mermaid"> holding the SVG.
    with contextlib.suppress(error):
        page.wait_for_selector("div.mermaid svg", timeout=20_000)
    drawn = page.locator("div.mermaid")
    if page.locator("pre.mermaid").count() or drawn.count() == 0:
        return [f"{path}: a diagram was not drawn"]
    problems = []
    for i in range(drawn.count()):
        svg = drawn.nth(i).locator("svg").first
        box = svg.bounding_box() if svg.count() else None
        if box is None or box["height"] < 80 or box["width"] < 80:
            problems.append(f"{path}: diagram {i + 1} has no SVG of a readable size")
        elif svg.locator("text, foreignObject").count() < 2:
            problems.append(f"{path}: diagram {i + 1} has no labels")
        elif "Syntax error" in (svg.text_content() or ""):
            problems.append(f"{path}: diagram {i + 1} failed to parse")
    drawn.first.scroll_into_view_if_needed()
    return problems


def _check_operations(page: Any, path: str) -> list[str]:
    """Every operation of openapi.json has its heading and its `METHOD /path` on the page."""
    text = page.locator("article").inner_text()
    problems = []
    for anchor, route in operations().items():
        heading = page.locator(f'h3[id="{anchor}"]')
        if heading.count() != 1:
            problems.append(f"{path}: no heading #{anchor} for {route}")
        elif route not in text:
            problems.append(f"{path}: {route} is not shown")
    if page.locator("article table").count() < 10:
        problems.append(f"{path}: the request and response tables are missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the screenshots")
    parser.add_argument("--chromium", help="the Chromium executable to drive")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        site = args.site
        if site is None:
            site = Path(scratch) / "site"
            build_site(site)
        problems = check_site(site, args.out, find_chromium(args.chromium))
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"screenshots in {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
