"""Every install instruction in the READMEs and on the documentation site, run for real.

The instructions are read from the pages themselves (fenced shell blocks and inline code
holding `pip install …`), so a new one is run as soon as it is written. Each distinct set of
arguments is installed into a fresh virtual environment, from a fresh `git clone` of this
repository (its committed state), with pip's ordinary cache; then what it installed is
checked: this project's packages at this project's version (never the unrelated 0.1.4 of the
same names on the public index), and the commands and imports it promises.

`test_readme_first_command_then_the_in_process_example` is the first five minutes of a new
user: the README's first command block, verbatim, in the clone, then the README's in-process
example under the Python it installed, which must print the remembered fact.

These tests take minutes (each environment installs the service's dependencies); they are
marked `install` and CI runs them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    *sorted((ROOT / "packages").glob("*/README.md")),
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "integrations").rglob("*.md")),
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if "overrides" not in p.parts),
]
SHELL = {"bash", "sh", "shell", "console", "zsh"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
INLINE = re.compile(r"`([^`]*?\bpip install\b[^`]*)`", re.DOTALL)
PIP = re.compile(r"(?P<pip>(?:\S*/)?pip3?) install (?P<args>.+)")
VENV = re.compile(r"python3? -m venv (?:--\S+ )*(?P<path>\S+)")
VERSION = "0.2.0"
README_FIRST = "'./packages/tessera-memory[local]'"  # the README's first install command
OURS = ("tessera-memory", "tessera-server", "tessera-mcp")

# Instructions that install something other than this project's code, each with where it is
# run instead; anything else must install from the clone.
ELSEWHERE = {
    "tessera-memory==0.1.4": "the other project's published client, on purpose: "
    "packages/tessera-server/tests/test_published_client.py installs and runs it",
    "mem0ai": "a third-party peer for an optional comparison (bench/README.md), not this "
    "project's code",
}


@dataclass(frozen=True)
class Instruction:
    page: Path
    line: int
    command: str  # the whole line (or inline span), comments and prompts removed
    setup: tuple[str, ...]  # venv-creating lines before it in the same block

    @property
    def args(self) -> str:
        match = PIP.search(self.command)
        assert match is not None
        return match.group("args").split(" && ")[0].strip()

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _clean(line: str) -> str:
    line = line.strip()
    if line.startswith("$ "):
        line = line[2:]
    # A trailing comment is prose; '#' inside quotes (none of ours) would need a lexer.
    return re.sub(r"\s+#.*$", "", line).strip()


def instructions() -> list[Instruction]:
    found: list[Instruction] = []
    for page in PAGES:
        if not page.exists():
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        fence: str | None = None
        lang = ""
        block_venvs: list[str] = []
        prose: list[tuple[int, str]] = []
        for number, line in enumerate(lines, 1):
            opened = FENCE.match(line)
            if fence is None and opened:
                fence, lang, block_venvs = opened.group(1), opened.group(2), []
                continue
            if fence is not None:
                if line.strip().startswith(fence):
                    fence = None
                    continue
                if lang in SHELL:
                    command = _clean(line)
                    if VENV.search(command) and not PIP.search(command):
                        block_venvs.append(command)
                    if PIP.search(command):
                        found.append(Instruction(page, number, command, tuple(block_venvs)))
                continue
            prose.append((number, line))
        # Inline code in prose, which may wrap across lines.
        text = "\n".join(line for _, line in prose)
        for match in INLINE.finditer(text):
            command = " ".join(match.group(1).split())
            if not PIP.search(command):
                continue  # "`pip install`" named in a sentence, with nothing to install
            at = text[: match.start()].count("\n")
            found.append(Instruction(page, prose[at][0], command, ()))
    return found


def _installs_ours_by_name(args: str) -> list[str]:
    """Our distribution names given bare (as the index would resolve them), not as paths."""
    bare = []
    for token in shlex.split(args):
        name = re.split(r"[\[=<>~! ]", token, maxsplit=1)[0]
        if name in OURS:
            bare.append(token)
    return bare


def test_instructions_are_found() -> None:
    """The scanner sees the instructions the pages are known to hold."""
    found = {(i.page.name, i.args) for i in instructions()}
    assert ("README.md", "'./packages/tessera-memory[local]'") in found
    assert ("mcp.md", "./packages/tessera-memory ./packages/tessera-mcp") in found
    assert any(args == "mem0ai" for _, args in found)  # bench/README.md, inline, wrapped


def test_no_instruction_installs_our_names_from_the_index() -> None:
    wrong = [
        f"{i.where}: {i.command}"
        for i in instructions()
        if i.args not in ELSEWHERE and _installs_ours_by_name(i.args)
    ]
    assert not wrong, (
        "these install a name that belongs to another project on the package index; "
        "install from the clone (./packages/...):\n" + "\n".join(wrong)
    )


def test_every_instruction_installs_into_a_virtual_environment() -> None:
    """`pip install` alone, or a venv's own pip; never `--user`, `sudo` or pipx."""
    wrong = []
    for i in instructions():
        pip = PIP.search(i.command)
        assert pip is not None
        if "--user" in i.command or "sudo " in i.command or "pipx" in i.command:
            wrong.append(f"{i.where}: {i.command}")
        elif "/" in pip.group("pip"):  # a path to a pip: it must be a venv made for it
            venv = pip.group("pip").rsplit("/bin/", 1)[0]
            made = [s for s in (*i.setup, i.command) if VENV.search(s)]
            if not any(VENV.search(s).group("path") == venv for s in made):  # type: ignore[union-attr]
                wrong.append(f"{i.where}: {i.command} (no `python3 -m venv {venv}` before it)")
    assert not wrong, "\n".join(wrong)


# -- running them ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this repository's committed state, as a new user would have."""
    target = tmp_path_factory.mktemp("clone") / "tessera"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=300)
    return target


def plain_env() -> dict[str, str]:
    """The environment of a shell with no virtual environment active."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "VIRTUAL_ENV"))}
    here = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != here)
    env.pop("PYTHONPATH", None)
    return env


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (
        f"{script}\n--- exit {done.returncode} ---\n{done.stdout}{done.stderr}"
    )
    return done


def installed(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {p["name"]: p["version"] for p in json.loads(out)}


def first_python_block(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    match = re.search(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.mark.install
def test_readme_first_command_then_the_in_process_example(clone: Path, tmp_path: Path) -> None:
    readme = (clone / "README.md").read_text(encoding="utf-8")
    first = re.search(r"^```bash\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert first is not None and "pip install" in first.group(1)
    bash(first.group(1), clone, plain_env())
    python = clone / ".venv" / "bin" / "python"
    versions = installed(python)
    assert versions.get("tessera-memory") == VERSION and versions.get("tessera-server") == VERSION

    home = tmp_path / "home"
    home.mkdir()
    example = first_python_block(clone / "README.md")
    assert "Tessera.local" in example
    done = subprocess.run(
        [str(python), "-c", example],
        cwd=tmp_path,
        env={**plain_env(), "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "I moved to Lisbon last month" in done.stdout
    assert (home / "tessera.db").exists()


def distinct() -> Iterator[object]:
    seen: dict[str, Instruction] = {}
    for i in instructions():
        if i.args not in ELSEWHERE:
            seen.setdefault(i.args, i)
    for args, i in seen.items():
        if args == README_FIRST:
            continue  # run verbatim, with its example, by the test above
        yield pytest.param(i, id=args, marks=pytest.mark.install)


@pytest.mark.parametrize("instruction", list(distinct()))
def test_install_instruction(instruction: Instruction, clone: Path, tmp_path: Path) -> None:
    places = tmp_path / "places"
    places.mkdir()

    def local(text: str) -> str:
        # Paths outside the clone that an instruction names go under the test's own folder.
        text = text.replace("~/", f"{places}/home/").replace("/opt/", f"{places}/opt/")
        return text.replace("/var/lib/", f"{places}/var/lib/")

    command = local(instruction.command)
    pip = PIP.search(command)
    assert pip is not None
    if "/" in pip.group("pip"):
        # The instruction names its venv's pip: make that venv as the page does, then run it.
        script = "\n".join([*map(local, instruction.setup), command])
        python = Path(pip.group("pip").rsplit("/bin/", 1)[0]) / "bin" / "python"
    else:
        script = f"python3 -m venv {places}/venv && . {places}/venv/bin/activate\n{command}"
        python = places / "venv" / "bin" / "python"
    (places / "home").mkdir()
    bash(script, clone, plain_env())

    versions = installed(python)
    for name in OURS:
        if name in versions:
            assert versions[name] == VERSION, f"{name} {versions[name]} is not this project's"
    bindir = python.parent
    args = instruction.args
    if "tessera-server" in args or "[local]" in args:
        done = subprocess.run(
            [str(bindir / "tessera"), "--version"], capture_output=True, text=True
        )
        assert done.stdout.strip() == f"tessera {VERSION}", done
    if "[postgres]" in args:
        subprocess.run([str(python), "-c", "import psycopg, psycopg_pool"], check=True)
    if "tessera-mcp" in args:
        done = subprocess.run(
            [str(bindir / "tessera-mcp"), "--version"], capture_output=True, text=True
        )
        assert VERSION in done.stdout + done.stderr, done
    if "tessera-memory" in args:
        assert versions.get("tessera-memory") == VERSION
    if args.strip() == "./packages/tessera-memory":
        # The client alone: Tessera.local says which command brings the service.
        probe = (
            "from tessera_memory import Tessera\n"
            "try:\n    Tessera.local('t.db')\nexcept Exception as exc:\n    print(exc)\n"
        )
        done = subprocess.run(
            [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True
        )
        assert "tessera-memory[local]" in done.stdout, done
