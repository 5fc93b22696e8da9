"""Regenerate the memory console's screenshots in docs/images/console/.

They are taken by the console's end-to-end browser test
(packages/tessera-server/tests/test_console_browser.py) while it walks every page against a
real service, so the pictures show what the test checked. Needs playwright and a Chromium
(`pip install -r docs/requirements-browser.txt`, `apt-get install chromium`):

    python scripts/console_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "images" / "console"
TEST = ROOT / "packages" / "tessera-server" / "tests" / "test_console_browser.py"


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TESSERA_CONSOLE_SHOTS": str(TARGET)}
    command = [sys.executable, "-m", "pytest", str(TEST), "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=TEST.parent, env=env, check=False)
    if done.returncode == 0:
        print(
            f"screenshots in {TARGET.relative_to(ROOT)}: {sorted(p.name for p in TARGET.glob('*.png'))}"
        )
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
