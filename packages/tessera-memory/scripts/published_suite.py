"""Run the unit suite of the client published on the package index as ``tessera-memory`` 0.1.4
against this SDK, and write what passed to ``published-suite.md``.

Usage (from anywhere; needs the package index, or ``--sdist`` pointing at a downloaded copy)::

    python packages/tessera-memory/scripts/published_suite.py
    python packages/tessera-memory/scripts/published_suite.py --sdist tessera_memory-0.1.4.tar.gz

What it does, in a fresh temporary folder:

1. takes the published source distribution (``pip download --no-binary :all:``) and unpacks its
   ``tests/`` folder; the live tests (``test_live.py``, marked ``live``) need a hosted service
   and are left out;
2. adapts the suite's imports of *private* modules, and nothing else: ``from
   tessera_memory._base_client import X`` and ``from tessera_memory._exceptions import X``
   become ``from tessera_memory import X`` (this SDK's private modules are laid out differently;
   the names are public here);
3. builds a virtual environment with pytest, pytest-asyncio and respx (the suite's own test
   tools), installs the SDK from this checkout, and runs the suite (``asyncio_mode = auto`` as
   in the published configuration);
4. with ``--baseline``, does the same with the published client itself installed, so the
   table shows what the suite gives on the code it was written for.

Every failure left is a deliberate difference, listed in docs/migrating-from-published.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPORT = PACKAGE_DIR / "published-suite.md"
PUBLISHED = "tessera-memory==0.1.4"
TEST_TOOLS = ["pytest>=8", "pytest-asyncio>=0.25", "respx>=0.22"]

# The only edits made to the published tests: imports from private modules.
IMPORT_ADAPTATIONS = [
    (r"from tessera_memory\._base_client import ", "from tessera_memory import "),
    (r"from tessera_memory\._exceptions import ", "from tessera_memory import "),
]

PYTEST_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
testpaths = tests
markers =
    live: end-to-end against a hosted service (not run here)
"""


@dataclass
class Outcome:
    """What one run of the suite gave."""

    label: str
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failed)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def download_sdist(dest: Path) -> Path:
    run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"),
            *(PUBLISHED, "-d", str(dest)),
        ]
    )
    found = sorted(dest.glob("tessera_memory-*.tar.gz"))
    if not found:
        raise SystemExit(f"pip download gave no sdist of {PUBLISHED}")
    return found[0]


def unpack_tests(sdist: Path, dest: Path, *, adapt: bool = True) -> list[str]:
    """Copy the sdist's unit tests to ``dest/tests``; return the adaptations made (none for
    the baseline run, where the private modules exist as the tests expect)."""
    tests = dest / "tests"
    tests.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) == 3 and parts[1] == "tests" and member.isfile():
                if parts[2] == "test_live.py" or not parts[2].endswith(".py"):
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                (tests / parts[2]).write_bytes(handle.read())
    changes: list[str] = []
    for path in sorted(tests.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern, replacement in IMPORT_ADAPTATIONS if adapt else []:
            for line in re.findall(rf"^{pattern}.*$", text, flags=re.M):
                changes.append(f"`{path.name}`: `{line}`")
            text = re.sub(pattern, replacement, text)
        path.write_text(text, encoding="utf-8")
    (dest / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    return changes


def make_env(where: Path, install: list[str]) -> Path:
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", *TEST_TOOLS, *install])
    return python


def run_suite(python: Path, suite: Path, label: str) -> Outcome:
    junit = suite / f"junit-{label}.xml"
    subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
        cwd=suite,
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = Outcome(label)
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{Path(case.get('classname', '').replace('.', '/')).name}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            continue
        if problem is None:
            outcome.passed.append(name)
        else:
            message = (problem.get("message") or "").splitlines()[0][:160]
            outcome.failed[name] = message
    return outcome


def report(outcomes: list[Outcome], adaptations: list[str], sdist: Path) -> str:
    lines = [
        "# The published tessera-memory 0.1.4 unit suite, run against this SDK",
        "",
        f"Written by `scripts/published_suite.py` from `{sdist.name}`. The live tests (they need"
        " a hosted service) are left out; the suite runs with respx and pytest-asyncio as"
        " published.",
        "",
        "| SDK under test | passed | failed | total | pass rate |",
        "|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        rate = 100.0 * len(o.passed) / o.total if o.total else 0.0
        lines.append(
            f"| {o.label} | {len(o.passed)} | {len(o.failed)} | {o.total} | {rate:.1f} % |"
        )
    lines += ["", "Edits made to the published tests (imports of private modules only):", ""]
    lines += [f"- {a}" for a in adaptations] or ["- none"]
    for o in outcomes:
        lines += ["", f"## Failures: {o.label}", ""]
        if not o.failed:
            lines.append("None.")
        for name, message in sorted(o.failed.items()):
            lines.append(f"- `{name}`: {message}")
    lines += [
        "",
        "Every remaining failure is a deliberate difference, listed with the reason in"
        " `docs/migrating-from-published.md`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="the published sdist (default: download it)")
    parser.add_argument("--baseline", action="store_true", help="also run it on 0.1.4 itself")
    parser.add_argument("--output", type=Path, default=REPORT, help="where to write the report")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="published-suite-") as tmp:
        work = Path(tmp)
        sdist = args.sdist.resolve() if args.sdist else download_sdist(work / "dist")
        suite = work / "suite"
        adaptations = unpack_tests(sdist, suite)
        outcomes: list[Outcome] = []
        if args.baseline:
            original = work / "suite-unchanged"
            unpack_tests(sdist, original, adapt=False)
            python = make_env(work / "venv-published", [str(sdist)])
            outcomes.append(run_suite(python, original, "published 0.1.4 (baseline)"))
        python = make_env(work / "venv-ours", ["-e", str(PACKAGE_DIR)])
        outcomes.append(run_suite(python, suite, "this SDK"))

    text = report(outcomes, adaptations, sdist)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    ours = outcomes[-1]
    return 0 if ours.total and len(ours.passed) / ours.total >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
