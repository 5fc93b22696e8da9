"""The documentation site builds in strict mode and covers what the code can say.

* `mkdocs build --strict` succeeds (no broken link or anchor, no missing page), and the built
  site fetches nothing from a CDN;
* every problem `type` slug the service can emit has an anchor on the Errors page, and problem
  `type` URIs point into this site;
* every SDK constructor argument, every environment variable the SDK and the MCP server read,
  and every service setting is documented;
* the generated parts render (including benchmark results, with and without runs on disk);
* in headless Chromium, pages fetch nothing from other hosts, code is highlighted, diagrams are
  drawn and search answers (skipped without playwright and a Chromium).
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
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    site_url = re.search(r"^site_url:\s*(\S+)", config, re.MULTILINE)
    assert site_url is not None
    assert site_url.group(1).rstrip("/") == docs_url.rstrip("/")
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


@pytest.mark.skipif(not HAVE_MKDOCS, reason=NO_MKDOCS)
@pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None,
    reason="playwright is not installed (pip install -r docs/requirements-browser.txt)",
)
def test_site_renders_in_a_browser(tmp_path: Path) -> None:
    chromium = docs_screenshots.find_chromium(None)
    if chromium is None and not list(Path.home().glob(".cache/ms-playwright/chromium-*")):
        pytest.skip("no Chromium found (apt-get install chromium, or playwright install chromium)")
    site = tmp_path / "site"
    docs_screenshots.build_site(site)
    problems = docs_screenshots.check_site(site, tmp_path / "shots", chromium)
    assert problems == []
