"""The documentation site builds in strict mode and covers what the code can say.

* `mkdocs build --strict` succeeds (no broken link or anchor, no missing page), and the built
  site fetches nothing from a CDN;
* every problem `type` slug the service can emit has an anchor on the Errors page, and problem
  `type` URIs point into this site;
* every SDK constructor argument, every environment variable the SDK and the MCP server read,
  and every service setting is documented;
* the generated parts render (including benchmark results, with and without runs on disk);
* in headless Chromium, pages fetch nothing from other hosts, code is highlighted, diagrams are
  drawn, the HTTP reference shows every operation and search answers (skipped without
  playwright and a Chromium, except in CI, where that fails).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SERVER_SRC = ROOT / "packages" / "tessera-server" / "src" / "tessera_server"
SDK_SRC = ROOT / "packages" / "tessera-memory" / "src" / "tessera_memory"
MCP_SRC = ROOT / "packages" / "tessera-mcp" / "src" / "tessera_mcp"

sys.path.insert(0, str(ROOT / "scripts"))
import docs_reference  # noqa: E402  (scripts/ is not a package)
import docs_screenshots  # noqa: E402

HAVE_MKDOCS = all(
    importlib.util.find_spec(name) is not None for name in ("mkdocs", "material", "pymdownx")
)
NO_MKDOCS = (
    "mkdocs, mkdocs-material and pymdown-extensions are not installed "
    "(pip install -r docs/requirements.txt)"
)


READMES = [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]


def _site_url() -> str:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    found = re.search(r"^site_url:\s*(\S+)", config, re.MULTILINE)
    assert found is not None
    return found.group(1).rstrip("/") + "/"


def _anchors(markdown: str) -> set[str]:
    """Explicit `{#id}` anchors of a Markdown page."""
    return set(re.findall(r"\{#([A-Za-z0-9_-]+)\}", markdown))


def _python_sources(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py")))


def emitted_slugs() -> set[str]:
    """Every problem `type` slug the service can put in a response."""
    from tessera_server.api import problems
    from tessera_server.engine.errors import EngineError

    slugs = set(problems._SLUGS.values())
    pending: list[type[EngineError]] = [EngineError]
    while pending:
        cls = pending.pop()
        slugs.add(cls.slug)
        pending.extend(cls.__subclasses__())
    source = _python_sources(SERVER_SRC)
    slugs |= set(re.findall(r"errors/#([a-z][a-z-]*)", source))  # literal type URIs
    slugs |= set(re.findall(r"\bslug\s*=\s*\"([a-z][a-z-]*)\"", source))  # slug="..."
    slugs |= set(re.findall(r"_SLUGS\.get\([^)]*?,\s*\"([a-z][a-z-]*)\"\)", source))  # fallback
    return slugs


def test_every_problem_slug_has_an_anchor() -> None:
    slugs = emitted_slugs()
    assert {"bad-request", "invalid-input", "missing-scope", "not-configured", "error"} <= slugs
    anchors = _anchors((DOCS / "errors.md").read_text(encoding="utf-8"))
    missing = sorted(slugs - anchors)
    assert not missing, f"docs/errors.md has no anchor for: {missing}"


def test_problem_types_point_into_this_site() -> None:
    from tessera_server.config import Settings

    docs_url = Settings.model_fields["docs_url"].default
    assert _site_url() == docs_url.rstrip("/") + "/"
    assert (DOCS / "errors.md").exists()  # served at <site_url>/errors/


def test_sdk_options_are_documented() -> None:
    import tessera_memory

    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for cls in (tessera_memory.Tessera, tessera_memory.AsyncTessera):
        for name in inspect.signature(cls.__init__).parameters:
            if name != "self" and not name.startswith("_"):
                assert f"| `{name}` |" in page, f"configuration.md: SDK option {name!r}"
    for variable in sorted(set(re.findall(r"TESSERA_[A-Z_]+", _python_sources(SDK_SRC)))):
        assert f"`{variable}`" in page, f"configuration.md: {variable} (read by the SDK)"


def test_mcp_variables_are_documented() -> None:
    page = (DOCS / "mcp.md").read_text(encoding="utf-8")
    for variable in sorted(set(re.findall(r"TESSERA_[A-Z_]+", _python_sources(MCP_SRC)))):
        assert f"| `{variable}` |" in page, f"mcp.md: {variable} (read by tessera-mcp)"


def test_service_settings_table_lists_every_setting() -> None:
    from tessera_server.config import Settings

    table = docs_reference.service_settings()
    for name in Settings.model_fields:
        assert f"`TESSERA_{name.upper()}`" in table
    assert "<!-- generated: service-settings -->" in (DOCS / "configuration.md").read_text()


def test_generated_references_cover_the_contract() -> None:
    spec = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    http = docs_reference.http_reference(spec)
    for ops in spec["paths"].values():
        for op in ops.values():
            assert "{#" + docs_reference._op_anchor(op["operationId"]) + "}" in http
    for name in spec["components"]["schemas"]:
        assert "{#" + docs_reference._schema_anchor(name) + "}" in http
    python = docs_reference.python_reference(spec)
    for method in ("memories.add", "memories.correct", "procedures.recall", "jobs.get"):
        assert f"client.{method}(" in python
    assert "tessera keys create" in docs_reference.cli_reference()


def test_benchmark_results_are_embedded(tmp_path: Path) -> None:
    assert "No results recorded yet" in docs_reference.benchmark_results(tmp_path)
    table = (
        "## LoCoMo\n\n`python -m tessera_bench locomo --systems bm25,tessera,peer`\n\n"
        "| system | r |\n|---|---:|\n| bm25 | 0.5 |\n| tessera | 0.7 |\n| peer | 0.4 |\n"
    )
    (tmp_path / "locomo.md").write_text(table)
    (tmp_path / "locomo-recall.png").write_bytes(b"\x89PNG")
    doc = {
        "benchmark": "locomo",
        "settings": {"budgets_words": [250, 500], "metric_prefix": "recall"},
        "systems": {
            name: {"recall@budget250": 0.5, "recall@budget500": 0.6}
            for name in ("bm25", "tessera", "peer")
        },
    }
    (tmp_path / "locomo.json").write_text(json.dumps(doc))
    (tmp_path / "latency.md").write_text("| memories | p50 |\n|---:|---:|\n| 1000 | 3.1 |\n")
    (tmp_path / "latency.png").write_bytes(b"\x89PNG")
    text = docs_reference.benchmark_results(tmp_path, plot_dir="assets/bench")
    assert "## LoCoMo" in text and "| tessera | 0.7 |" in text
    assert "peer" not in text  # only Tessera and the baselines are shown
    assert "--systems bm25,tessera`" in text
    # The run's PNG shows the peer too, so a plot of the shown systems is drawn instead.
    assert "![locomo-recall](assets/bench/locomo-recall.svg)" in text
    assert "locomo-recall.png" not in text
    plots = {r.name: r.plots for r in docs_reference.bench_results(tmp_path)}
    svg = plots["locomo"][0].content or ""
    assert svg.startswith("<svg") and "tessera" in svg and "peer" not in svg
    assert "## latency" in text  # a table without a heading gets one
    assert "![latency](assets/bench/latency.png)" in text  # nothing to hide: the run's own


def test_benchmarks_page_names_the_recorded_runs() -> None:
    """The benchmarks page's list of runs is the files in bench/results/, no more, no fewer."""
    results = ROOT / "bench" / "results"
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    named: set[str] = set()
    for row in re.findall(r"^\| (`[^|]+)\|", page, re.MULTILINE):
        files = re.findall(r"`([^`]+)`", row)
        stem = files[0].rsplit(".", 1)[0]
        named |= {files[0], *(stem + suffix for suffix in files[1:])}
    missing = sorted(name for name in named if not (results / name).exists())
    assert not missing, f"docs/benchmarks.md names files bench/results/ lacks: {missing}"
    unnamed = sorted(p.name for p in results.glob("*.md") if p.name not in named)
    assert not unnamed, f"add these runs to the table in docs/benchmarks.md: {unnamed}"


def test_retrieval_page_matches_the_engine() -> None:
    """The numbers the retrieval page quotes are the engine's."""
    import ast

    def constants(path: Path) -> dict[str, object]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        return {
            target.id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }

    retrieval = constants(SERVER_SRC / "engine" / "retrieval.py")
    compose = constants(SERVER_SRC / "engine" / "compose.py")
    page = (DOCS / "concepts" / "retrieval.md").read_text(encoding="utf-8")
    assert retrieval["RRF_K"] == 60 and "1 / (60 + rank)" in page
    assert compose["CONTEXT_TOKEN_BUDGET"] == 2000 and "about 2,000 tokens" in page
    assert compose["FORESIGHT_LIMIT"] == 5 and "up to five" in page
    source = (SERVER_SRC / "engine" / "retrieval.py").read_text(encoding="utf-8")
    assert "depth = max(50, params.top_k * 4)" in source and "at least 50" in page
    assert "max(params.top_k * 3, 30)" in source and "`max(3 \u00d7 top_k, 30)`" in page
    assert "<!-- generated: rerank-features -->" in page
    assert docs_reference.rerank_features().count("\n") >= 3


def test_package_readmes_are_short_and_link_into_the_site() -> None:
    """A package README says what it is, how to install it, one example, then links."""
    for readme in READMES[1:]:
        text = readme.read_text(encoding="utf-8")
        name = readme.relative_to(ROOT)
        assert len(text.splitlines()) <= 100, f"{name}: move the details to the site"
        assert text.count("](" + _site_url()) >= 3, f"{name}: link into the documentation site"
        assert "pip install" in text and "```" in text, f"{name}: install and an example"


@pytest.mark.skipif(not HAVE_MKDOCS, reason=NO_MKDOCS)
def test_site_builds_strict_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    errors_html = (site / "errors" / "index.html").read_text(encoding="utf-8")
    for slug in emitted_slugs():
        assert f'id="{slug}"' in errors_html, f"built errors page lacks #{slug}"

    http_html = (site / "reference" / "http" / "index.html").read_text(encoding="utf-8")
    assert 'id="op-memories-add-memory"' in http_html
    assert (site / "search" / "search_index.json").exists()

    pages = list(site.rglob("*.html"))
    assert len(pages) > 20
    mermaid = "assets/javascripts/vendor/mermaid-11.17.2.min.js"
    assert (site / mermaid).exists()
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for host in ("unpkg.com", "cdn.jsdelivr.net", "fonts.googleapis.com", "fonts.gstatic"):
            assert host not in html, f"{page.relative_to(site)} refers to {host}"
        if 'class="mermaid"' in html:
            assert mermaid in html, f"{page.relative_to(site)} has a diagram but no renderer"

    # The READMEs are short and link into the site: every such link lands on a page and anchor.
    site_url = _site_url()
    for readme in READMES:
        for url in re.findall(r"\]\((" + re.escape(site_url) + r"[^)\s]*)\)", readme.read_text()):
            path, _, anchor = url[len(site_url) :].partition("#")
            target = site / path / "index.html" if not path.endswith(".html") else site / path
            where = f"{readme.relative_to(ROOT)}: {url}"
            assert target.exists(), f"{where} is not a page of the site"
            if anchor:
                assert f'id="{anchor}"' in target.read_text(encoding="utf-8"), f"{where}: no anchor"


def _without_browser(reason: str) -> NoReturn:
    """Skip on a developer's machine; in CI a missing browser is a failure, not a skip."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(
            f"CI must run the browser test, but {reason}. scripts/test.sh installs both "
            "(pip install -r docs/requirements-browser.txt; apt-get install chromium as root)."
        )
    pytest.skip(reason)


@pytest.mark.browser
def test_site_renders_in_a_browser(tmp_path: Path) -> None:
    """Home page, guides, concepts, both references and search, in headless Chromium.

    Fails on any request to another host, any missing local file, any JavaScript error, code
    without highlighting, a diagram not drawn as SVG, an HTTP operation of openapi.json missing
    from the reference, or a search that finds nothing. Screenshots go to a temporary folder,
    or to $DOCS_SCREENSHOTS when set.
    """
    if not HAVE_MKDOCS:
        _without_browser(NO_MKDOCS)
    if importlib.util.find_spec("playwright") is None:
        _without_browser(
            "playwright is not installed (pip install -r docs/requirements-browser.txt)"
        )
    chromium = docs_screenshots.find_chromium(None)
    if chromium is None and not list(Path.home().glob(".cache/ms-playwright/chromium-*")):
        _without_browser("no Chromium found (apt-get install chromium, or set CHROMIUM=/path)")
    site = tmp_path / "site"
    docs_screenshots.build_site(site)
    shots = Path(os.environ.get("DOCS_SCREENSHOTS") or tmp_path / "shots")
    problems = docs_screenshots.check_site(site, shots, chromium)
    assert problems == [], "\n".join(problems)
    taken = {p.stem for p in shots.glob("*.png")}
    assert {"home", "guide-search-and-query", "reference-http"} <= taken
