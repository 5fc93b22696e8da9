"""The service's layers depend one way: `api`/`console` -> `engine` -> `store` and `providers`.

The rule is read from the import statements of the source, so a new module that reaches the
wrong way fails here rather than in review:

* the domain records (`engine/records.py`) import nothing of the service: every layer may use
  them, and they pull no layer in;
* a store imports, of the engine, its records module only (the rules of memory stay above the
  store protocol), and nothing of the API, the console or the providers;
* the engine never imports the API or the console;
* a provider never imports the API, the console or a store.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tessera_server

SOURCE = Path(tessera_server.__file__).resolve().parent
RECORDS = "tessera_server.engine.records"


def _module_name(path: Path) -> str:
    parts = ["tessera_server", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The service modules one file imports, as absolute dotted names."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tessera_server"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                # `from . import x` names a module too.
                found.update(f"{module}.{a.name}" for a in node.names if not node.module)
                found.add(module)
            elif node.module and node.module.startswith("tessera_server"):
                found.add(node.module)
    return found


def _layer_imports(layer: str) -> dict[str, set[str]]:
    files = sorted((SOURCE / layer).rglob("*.py"))
    assert files, f"no {layer}/ package"
    return {str(path.relative_to(SOURCE)): _imports(path) for path in files}


def _within(module: str, *packages: str) -> bool:
    return any(
        module == f"tessera_server.{p}" or module.startswith(f"tessera_server.{p}.")
        for p in packages
    )


def test_the_records_import_nothing_of_the_service() -> None:
    imported = _imports(SOURCE / "engine" / "records.py")
    assert imported == set(), f"engine/records.py imports {sorted(imported)}"


def test_a_store_takes_only_the_records_from_the_engine() -> None:
    wrong = {
        path: sorted(
            m
            for m in modules
            if (_within(m, "engine") and m != RECORDS)
            or _within(m, "api", "console", "providers", "app", "cli")
        )
        for path, modules in _layer_imports("store").items()
    }
    assert not {p: m for p, m in wrong.items() if m}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("engine", ("api", "console", "app", "cli")),
        ("providers", ("api", "console", "store", "app", "cli")),
    ],
)
def test_no_layer_reaches_upwards(layer: str, forbidden: tuple[str, ...]) -> None:
    wrong = {
        path: sorted(m for m in modules if _within(m, *forbidden))
        for path, modules in _layer_imports(layer).items()
    }
    assert not {p: m for p, m in wrong.items() if m}


def test_the_import_reader_sees_relative_imports() -> None:
    """The rule above is only as good as the reader: a relative import resolves to its module."""
    store = _imports(SOURCE / "store" / "sql" / "facts.py")
    assert RECORDS in store
    engine = _imports(SOURCE / "engine" / "compose.py")
    assert "tessera_server.engine.records" in engine and "tessera_server.engine.retrieval" in engine
