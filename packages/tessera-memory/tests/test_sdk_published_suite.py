"""The published ``tessera-memory`` 0.1.4 unit suite, with only its imports of private modules
adapted, passes against this SDK (``scripts/published_suite.py``; it downloads the published
source distribution and builds a virtual environment with the suite's test tools).

Skipped when the package index cannot be reached; in CI it can.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "published_suite.py"
# Failures that are deliberate differences (docs/migrating-from-published.md); none today.
DELIBERATE: set[str] = set()
_UNREACHABLE = re.compile(
    r"(Could not find a version that satisfies|No matching distribution found|"
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Network is unreachable|ConnectTimeout|ReadTimeout|SSLError|ProxyError|"
    r"Max retries exceeded)",
)


@pytest.mark.slow
@pytest.mark.published
@pytest.mark.timeout(900)
def test_the_published_unit_suite_passes(tmp_path: Path) -> None:
    report = tmp_path / "published-suite.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(report)],
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    if not report.exists():
        if _UNREACHABLE.search(done.stdout + done.stderr):
            pytest.skip("the package index is unreachable")
        raise AssertionError(done.stdout + done.stderr)
    text = report.read_text(encoding="utf-8")
    row = re.search(r"^\| this SDK \| (\d+) \| (\d+) \| (\d+) \|", text, re.M)
    assert row, text
    passed, failed, total = map(int, row.groups())
    assert total >= 80 and passed + failed == total, text
    failures = set(re.findall(r"^- `([^`]+)`:", text.split("## Failures: this SDK", 1)[1], re.M))
    assert failures <= DELIBERATE, text
    assert passed / total >= 0.95, text
