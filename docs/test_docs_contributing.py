"""CONTRIBUTING.md and the architecture page say only what is true of this repository.

* every repository path the guide names exists;
* every command it gives runs a script, module or marker that exists;
* the steps of "Add an endpoint" name the places the code really uses: each step's file holds
  what the step says to look for, and every routes module is included by the app;
* the test lanes it describes are the ones `scripts/test.sh` and `pyproject.toml` define;
* the architecture page names modules that exist.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "CONTRIBUTING.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
SERVER = ROOT / "packages" / "tessera-server" / "src" / "tessera_server"
# Folders a short path in the guide may be relative to ("api/routes/common.py").
BASES = (ROOT, SERVER, ROOT / "packages" / "tessera-server" / "tests")
PATH_LIKE = re.compile(r"^[\w.-]+(/[\w.-]+)*/?$")
SUFFIXES = (".py", ".md", ".sh", ".json", ".toml", ".yml", ".txt", ".sql")


def _guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def _is_path(span: str) -> bool:
    if not PATH_LIKE.match(span) or span.startswith(("http", "tessera_", "tsk_")):
        return False
    return span.endswith("/") or span.endswith(SUFFIXES)


def _exists(span: str) -> bool:
    return any((base / span.rstrip("/")).exists() for base in BASES)


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_path_the_guide_names_exists() -> None:
    paths = [s for s in _code_spans(_guide()) if _is_path(s)]
    assert len(paths) > 20, "the guide should point at the files it talks about"
    missing = sorted({p for p in paths if not _exists(p)})
    assert not missing, f"CONTRIBUTING.md names paths that do not exist: {missing}"


def _commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    table = [s for s in _code_spans(text) if s.startswith(("python ", "bash ", "mkdocs "))]
    return [line for line in lines + table if line]


def test_every_command_runs_something_that_exists() -> None:
    commands = _commands(_guide())
    assert any("scripts/test.sh --quick" in c for c in commands)
    for command in commands:
        words = command.split()
        for word in words:
            if word.endswith((".py", ".sh", ".txt")) and "/" in word:
                assert (ROOT / word).is_file(), f"{command!r}: {word} does not exist"
        if words[:2] == ["python", "-m"] and words[2] not in ("pip", "pytest", "venv"):
            module = words[2]
            assert importlib.util.find_spec(module) is not None, f"{command!r}: no {module}"
        if words[:3] == ["python", "-m", "tessera_server"]:
            cli = (SERVER / "cli.py").read_text(encoding="utf-8")
            assert f'add_parser("{words[3]}"' in cli, f"{command!r}: no such subcommand"


def test_the_lanes_are_the_ones_the_scripts_define() -> None:
    guide = _guide()
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert '"--quick"' in script
    quick = re.search(r'-m "not \(([^)]*)\)"', script)
    assert quick, "scripts/test.sh --quick deselects markers with -m"
    left_out = {m.strip() for m in quick.group(1).split(" or ")}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}
    assert left_out <= declared, "every marker the fast lane leaves out is declared"
    for marker in left_out:
        assert f"`{marker}`" in guide, f"the guide does not name the {marker!r} marker"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh\n" in ci, "CI runs the full lane"


def test_the_fast_lane_starts_no_postgresql() -> None:
    """A test parametrized over the backends marks its PostgreSQL case `postgres`, so the
    fast lane, which deselects that marker, never starts the PostgreSQL server."""
    # `params=[..., "postgres"]`: the name as a bare element, not inside `pytest.param(`.
    bare = re.compile(r"params\s*=\s*\[(?:[^\]]*,)?\s*[\"']postgres[\"']", flags=re.S)
    tests = [*ROOT.glob("packages/*/tests/**/*.py"), *ROOT.glob("bench/tests/**/*.py")]
    unmarked = sorted(
        str(path.relative_to(ROOT))
        for path in tests
        if bare.search(path.read_text(encoding="utf-8"))
    )
    assert not unmarked, f"a bare 'postgres' parameter runs in the fast lane: {unmarked}"


# What each step of "Add an endpoint" says to look for, and where it must be found.
ENDPOINT_PLACES = {
    "Schemas": ("api/schemas.py", "class SearchRequest"),
    "Route": ("api/routes/memories.py", "@router.post("),
    "Engine": ("engine/memory.py", "class Memory"),
    "Store": ("store/protocol.py", "class Store"),
    "SDK": ("../../../tessera-memory/src/tessera_memory/resources/search.py", "@endpoint"),
}


@pytest.mark.parametrize("step", sorted(ENDPOINT_PLACES))
def test_endpoint_steps_point_at_the_real_places(step: str) -> None:
    section = _section(_guide(), "Add an endpoint")
    item = re.search(rf"\*\*{step}\*\*(.*?)(?=\n\d+\. |\Z)", section, flags=re.S)
    assert item, f"the endpoint steps have no {step!r} step"
    relative, marker = ENDPOINT_PLACES[step]
    assert f"`{marker}" in item.group(1), f"step {step!r} should say to look for {marker!r}"
    assert marker in (SERVER / relative).read_text(encoding="utf-8")


def test_every_routes_module_is_included_by_the_app() -> None:
    """Step 2 says a routes module is added to the app's `ROUTERS`, which it includes."""
    app = (SERVER / "app.py").read_text(encoding="utf-8")
    routes = SERVER / "api" / "routes"
    listed = re.search(r"^ROUTERS = \(([^)]*)\)", app, flags=re.M)
    assert listed and re.search(r"for module in ROUTERS:\n\s+app\.include_router", app)
    for module in sorted(routes.glob("*.py")):
        if "APIRouter(" in module.read_text(encoding="utf-8"):
            assert module.stem in listed.group(1), f"{module.stem} is not included"


def test_every_step_numbered_in_order() -> None:
    section = _section(_guide(), "Add an endpoint")
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", section, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 6


def test_architecture_page_names_real_modules() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:api|engine|store|providers)/[\w/]+\.py)", text))
    assert len(named) >= 5
    missing = sorted(p for p in named if not (SERVER / p).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    assert text.count("```mermaid") >= 2, "a diagram of the layers and of one request's path"


def test_changelog_has_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, flags=re.M)
    project = tomllib.loads(
        (ROOT / "packages" / "tessera-server" / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert project["project"]["version"] in versions, "the current version has its section"
