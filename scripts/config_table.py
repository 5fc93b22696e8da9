"""Write the configuration table (from tessera_server.config.Settings) into README.md.

Run `python scripts/config_table.py` after changing a setting; a test fails when the
README's table and the settings module disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docs_generators.settings import settings_table

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- config-table:begin -->"
END = "<!-- config-table:end -->"


def render() -> str:
    """The README's short table, from the same generator as the docs site's."""
    return settings_table(detailed=False)


def update(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{render()}\n{END}{tail}"


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = update(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
