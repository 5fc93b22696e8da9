"""Look at the built documentation site as a reader would, in headless Chromium.

Builds the site (or takes `--site DIR`), serves it on loopback, opens pages with every request
to any other host blocked, saves screenshots and checks that:

* no page tries to fetch anything from another host (fonts, scripts, a CDN);
* no page logs a JavaScript error;
* code is highlighted, diagrams are drawn (by the local mermaid copy) and search answers.

    python scripts/docs_screenshots.py --out /tmp/shots [--chromium /usr/bin/chromium]

Needs `pip install -r docs/requirements-browser.txt` and a Chromium (the system's, found on
PATH, or one installed by `playwright install chromium`). Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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


SHOTS = (
    Shot("home", "/", code=True),
    Shot("getting-started", "/getting-started/", code=True),
    Shot("guide-search-and-query", "/guides/search-and-query/", code=True),
    Shot("concepts-retrieval", "/concepts/retrieval/", diagram=True),
    Shot("concepts-time", "/concepts/time/", code=True, diagram=True),
    Shot("reference-http", "/reference/http/"),
    Shot("reference-http-operation", "/reference/http/#op-search-search"),
    Shot("reference-python", "/reference/python/", code=True),
    Shot("errors", "/errors/#missing-scope"),
)
SEARCH_TERMS = ("pgvector", "known_as_of")


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
        Route,
        sync_playwright,
    )

    out.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    blocked: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
            for shot in SHOTS:
                page.goto(base + shot.path)
                page.wait_for_load_state("networkidle")
                if shot.code and page.locator(".highlight code span[class]").count() == 0:
                    problems.append(f"{shot.path}: no highlighted code")
                if shot.diagram:
                    # The theme swaps each <pre class="mermaid"> for a drawn <div class="mermaid">.
                    with contextlib.suppress(PlaywrightError):
                        page.wait_for_selector("div.mermaid", timeout=20_000)
                    drawn = page.locator("div.mermaid").first
                    box = drawn.bounding_box() if drawn.count() else None
                    if page.locator("pre.mermaid").count() or box is None or box["height"] < 80:
                        problems.append(f"{shot.path}: a diagram was not drawn")
                    else:
                        drawn.scroll_into_view_if_needed()
                page.screenshot(path=str(out / f"{shot.name}.png"))
            for term in SEARCH_TERMS:
                page.goto(base + "/")
                page.wait_for_load_state("networkidle")
                page.keyboard.press("/")
                page.keyboard.type(term)
                try:
                    page.wait_for_selector(".md-search-result__item", timeout=20_000)
                except PlaywrightError:
                    problems.append(f"search for {term!r}: no results")
                page.screenshot(path=str(out / f"search-{term}.png"))
            browser.close()
    finally:
        server.shutdown()
    problems += [f"blocked a request to another host: {url}" for url in sorted(set(blocked))]
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
