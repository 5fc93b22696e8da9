"""Every example on the documentation site and in the READMEs runs against a real service.

For each Markdown page (everything under `docs/` plus the repository's READMEs) the fenced code
blocks are taken in page order, and:

* every `python` block runs, all blocks of a page in one interpreter and one namespace, as a
  reader pasting them one after the other would run them;
* a shell block (`bash`, `sh`, `console`) runs only when the line before it is
  `<!-- docs-test: run -->`; with `<!-- docs-test: background -->` it is started in the
  background and must bring up a service that answers `/ready`;
* a block preceded by `<!-- docs-test: skip ... -->` is deliberately not run (say why in the
  comment);
* a `text` block preceded by `<!-- docs-test: output -->` shows output: each of its lines must
  appear in what the page's previous Python block printed, dates aside (they change daily:
  `2026-11-25`, `25 Nov 2026` and `November 2026` all compare as one placeholder).

Pages run against one shared service (`tessera_server.testing.run_service`), each page under an
API key of its own tenant, so pages cannot see each other's data. A page that starts its own
service in a `background` block gets a private database and port instead, and the key a
`tessera keys create` block prints becomes its `TESSERA_API_KEY`, as it would for a reader.

Shell blocks run with `bash -euo pipefail` in a scratch folder; `127.0.0.1:8420` in them is
rewritten to the port of the service under test. Python tracebacks point at the Markdown file
and line of the failing block.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tessera_server.testing import ServiceHandle, free_port, run_service

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
READMES = [
    ROOT / "README.md",
    ROOT / "packages" / "tessera-memory" / "README.md",
    ROOT / "packages" / "tessera-mcp" / "README.md",
    ROOT / "packages" / "tessera-server" / "README.md",
    ROOT / "integrations" / "README.md",
    ROOT / "bench" / "README.md",
]
# README examples known to fail, each with the fix; strict, so a fixed one must lose its entry.
KNOWN_FAILURES: dict[Path, str] = {}
PYTHON = {"python", "py", "python3"}
SHELL = {"bash", "sh", "shell", "console", "zsh"}
DEFAULT_PORT = "127.0.0.1:8420"
KEY_LINE = re.compile(r"^(tsk_live_\S+)$", re.MULTILINE)
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<what>[a-z-]+)")
SENTINEL = "\x00docs-test-block-done "
BLOCK_TIMEOUT = 240.0
# A one-pixel PNG, for the examples that upload an image from the current folder.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

# Runs in a child interpreter: executes the blocks it is sent on stdin in one namespace.
RUNNER = r"""
import json, os, sys, traceback
namespace = {"__name__": "__main__"}
for raw in sys.stdin:
    block = json.loads(raw)
    os.environ.update(block["env"])  # what the page exported since (a key it just created)
    source = "\n" * (block["line"] - 1) + block["code"]
    try:
        exec(compile(source, block["path"], "exec"), namespace)
        result = {"ok": True}
    except BaseException:
        result = {"ok": False, "error": traceback.format_exc()}
    sys.stdout.flush()
    sys.stderr.flush()
    print("\x00docs-test-block-done " + json.dumps(result), flush=True)
"""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line number of the block's first line of code
    lang: str
    code: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the `docs-test` marker before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        found.append(
            Block(
                path=path,
                line=i + 2,
                lang=match.group("lang").lower(),
                code="\n".join(body) + "\n",
                marker=marker.group("what") if marker else None,
            )
        )
        i = j + 1
    return found


def runnable(block: Block) -> bool:
    if block.marker == "skip":
        return False
    if block.lang in PYTHON or block.marker == "output":
        return True
    return block.lang in SHELL and block.marker in ("run", "background")


_DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{4}\b"
)


def without_dates(text: str) -> str:
    return _DATES.sub("<date>", text)


def pages() -> list[Path]:
    docs = sorted(p for p in DOCS.rglob("*.md") if "overrides" not in p.parts)
    return [p for p in [*docs, *READMES] if p.exists() and any(map(runnable, blocks_of(p)))]


def page_params() -> list[object]:
    return [
        pytest.param(
            page,
            id=str(page.relative_to(ROOT)),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[page])]
            if page in KNOWN_FAILURES
            else [],
        )
        for page in pages()
    ]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceHandle]:
    with run_service(tmp_path_factory.mktemp("docs-service"), tenant="docs") as handle:
        handle.create_key("default")  # the tenant the pages' `tessera` examples name
        yield handle


@dataclass
class PageRun:
    """The state one page's examples share: environment, folder, processes."""

    folder: Path
    env: dict[str, str]
    port: str
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    runner: subprocess.Popen[str] | None = None
    output: queue.Queue[str] = field(default_factory=queue.Queue)
    printed: str = ""  # what the last Python block printed

    def shell(self, block: Block) -> None:
        code = block.code.replace(DEFAULT_PORT, f"127.0.0.1:{self.port}")
        if block.marker == "background":
            log = (self.folder / f"background-{block.line}.log").open("wb")
            process = subprocess.Popen(
                ["bash", "-c", code],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.background.append(process)
            self.wait_ready(block, process)
            return
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0:
            pytest.fail(f"{block.where}: shell block exited {done.returncode}:\n{output}")
        if "/errors/#" in done.stdout:
            pytest.fail(f"{block.where}: the service answered with an error:\n{output}")
        key = KEY_LINE.search(done.stdout)
        if key is not None:
            self.env["TESSERA_API_KEY"] = key.group(1)

    def wait_ready(self, block: Block, process: subprocess.Popen[bytes]) -> None:
        url = f"http://127.0.0.1:{self.port}/ready"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (self.folder / f"background-{block.line}.log").read_text(errors="replace")
                pytest.fail(f"{block.where}: exited with {process.returncode}:\n{log}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{block.where}: nothing answered {url} within 90 s")

    def python(self, block: Block) -> None:
        if self.runner is None:
            self.runner = subprocess.Popen(
                [sys.executable, "-c", RUNNER],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            threading.Thread(target=self._pump, args=(self.runner,), daemon=True).start()
        assert self.runner.stdin is not None
        exported = {k: v for k, v in self.env.items() if k.startswith("TESSERA_")}
        message = {
            "path": str(block.path),
            "line": block.line,
            "code": block.code,
            "env": exported,
        }
        self.runner.stdin.write(json.dumps(message) + "\n")
        self.runner.stdin.flush()
        printed: list[str] = []
        deadline = time.monotonic() + BLOCK_TIMEOUT
        while True:
            try:
                line = self.output.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"{block.where}: no result within {BLOCK_TIMEOUT:.0f} s")
            if line.startswith(SENTINEL):
                result = json.loads(line[len(SENTINEL) :])
                break
            if line == "":
                pytest.fail(f"{block.where}: the interpreter exited:\n{''.join(printed)}")
            printed.append(line)
        self.printed = "".join(printed)
        sys.stdout.write(self.printed)  # shown by pytest when a later check fails
        if not result["ok"]:
            pytest.fail(f"{block.where}: the example failed:\n{''.join(printed)}{result['error']}")

    def expect_output(self, block: Block) -> None:
        printed = without_dates(self.printed)
        missing = [
            line
            for line in block.code.splitlines()
            if line.strip() and without_dates(line) not in printed
        ]
        if missing:
            pytest.fail(
                f"{block.where}: the page shows output the example no longer prints:\n"
                + "\n".join(missing)
                + f"\n--- it printed ---\n{self.printed}"
            )

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.put(line)
        self.output.put("")

    def close(self) -> None:
        if self.runner is not None:
            assert self.runner.stdin is not None
            self.runner.stdin.close()
            try:
                self.runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.runner.kill()
        for process in self.background:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _base_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(folder / "home")
    env["TESSERA_CONFIG_DIR"] = str(folder / "home" / ".tessera")
    (folder / "home").mkdir()
    return env


@pytest.mark.parametrize("page", page_params())
def test_page_examples(page: Path, service: ServiceHandle, tmp_path: Path) -> None:
    blocks = [b for b in blocks_of(page) if runnable(b)]
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "whiteboard.png").write_bytes(PNG)
    env = _base_env(tmp_path)
    if any(b.marker == "background" for b in blocks):
        # The page starts its own service: a private database and port, and the key it creates.
        port = str(free_port())
        env.update(
            TESSERA_DATABASE_URL=f"sqlite:///{tmp_path / 'tessera.db'}",
            TESSERA_PORT=port,
            TESSERA_RATE_LIMIT_PER_MINUTE="100000",
            TESSERA_BASE_URL=f"http://127.0.0.1:{port}",
        )
    else:
        port = service.base_url.rsplit(":", 1)[1]
        tenant = re.sub(r"[^a-z0-9]+", "-", str(page.relative_to(ROOT)).lower())
        env.update({k: v for k, v in service.env.items() if k.startswith("TESSERA_")})
        env.update(
            TESSERA_BASE_URL=service.base_url,
            TESSERA_API_KEY=service.create_key(tenant),
        )
    run = PageRun(folder=folder, env=env, port=port)
    try:
        for block in blocks:
            if block.marker == "output":
                run.expect_output(block)
            elif block.lang in PYTHON:
                run.python(block)
            else:
                run.shell(block)
    finally:
        run.close()


def test_markers_are_known() -> None:
    """A misspelt marker would silently skip or run a block."""
    for page in [*sorted(DOCS.rglob("*.md")), *READMES]:
        if not page.exists():
            continue
        for line_no, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            match = MARKER.match(line)
            if match is not None:
                what = match.group("what")
                assert what in ("run", "background", "skip", "output"), f"{page}:{line_no}"
