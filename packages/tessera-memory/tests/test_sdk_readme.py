"""The README's Python examples run, in order, against a real service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_examples() -> None:
    # The README is short (quickstart, sync and async); the guides live on the documentation
    # site, whose examples docs/test_docs_examples.py runs.
    assert len(python_blocks()) >= 2


def test_readme_examples_run(
    service: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tessera_memory import Tessera

    monkeypatch.setenv("TESSERA_API_KEY", service.api_key)
    monkeypatch.setenv("TESSERA_BASE_URL", service.base_url)
    namespace: dict[str, Any] = {"__name__": "readme"}
    for block in python_blocks():
        # Later snippets use `client` outside the quickstart's `with` block: give them one.
        namespace["client"] = Tessera()
        exec(compile(block, str(README), "exec"), namespace)
        namespace["client"].close()
    out = capsys.readouterr().out
    assert out.count("Berlin") >= 2  # the quickstart's search and query found what it wrote
