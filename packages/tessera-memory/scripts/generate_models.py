"""Regenerate ``tessera_memory/models.py`` from the service's committed ``openapi.json``.

Usage (from anywhere)::

    python packages/tessera-memory/scripts/generate_models.py            # rewrite models.py
    python packages/tessera-memory/scripts/generate_models.py --check    # exit 1 on drift

The output is a pure function of the contract and the pinned generator version: no timestamp,
the generator's own dependency-free formatter, and a fixed option set. The SDK's test suite calls
:func:`render` and compares the result with the committed file, so a changed contract that was not
followed by a regeneration fails the build.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path

GENERATOR = "datamodel-code-generator"
GENERATOR_VERSION = "0.89.0"

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parents[1]
DEFAULT_CONTRACT = REPO_ROOT / "openapi.json"
MODELS_PATH = PACKAGE_DIR / "src" / "tessera_memory" / "models.py"

HEADER = (
    "# Generated from the service's openapi.json by"
    " packages/tessera-memory/scripts/generate_models.py.\n"
    "# Do not edit by hand: change the service, re-export openapi.json, then rerun the script."
)

# Every option is spelled out so that a default changing in a later generator release cannot
# silently change the output.
OPTIONS = [
    "--input-file-type=openapi",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.10",
    "--disable-timestamp",
    f"--custom-file-header={HEADER}",
    # A newer server may add response fields; they must parse, never fail validation.
    "--extra-fields=allow",
    "--formatters=builtin",
    "--output-datetime-class=datetime",
    "--use-annotated",
    "--use-double-quotes",
    "--use-schema-description",
    # Closed string sets are ``Literal`` types, so models are built and compared with plain
    # strings (``BatchMessage(role="user")``, ``item.type == "fact"``). Status fields stay
    # ``str`` enums (``health.status.value == "ok"``, ``job.status == "succeeded"``).
    "--enum-field-as-literal=all",
    '--enum-field-as-literal-map={"status": "enum", "type": "enum"}',
    "--collapse-root-models",
    "--use-subclass-enum",
    "--set-default-enum-member",
    # Inline enums are named after their model (``HealthStatusStatus``), not numbered.
    "--naming-strategy=parent-prefixed",
]


# Appended to the generated module, so that code written for the client published on the package
# index as ``tessera-memory`` 0.1.4 finds the names it imports from ``tessera_memory.models``.
# Those names came from a generator run without this script's naming options: numbered enums
# (``Type2``, ``Status1``) and ``TesseraApiV1...`` models. Each is bound to the model above that
# has the same fields, or, for value sets the models above type as a ``Literal``, to a ``str``
# enum whose members compare equal to the plain strings.
PUBLISHED_NAMES = '''

# --- Names from the published tessera-memory 0.1.4 ------------------------------------------
# Appended by generate_models.py (PUBLISHED_NAMES). Prefer the names above in new code.


class AddMode(StrEnum):
    """``memories.add(mode=...)``: queue consolidation, or consolidate before answering."""

    async_ = "async"
    sync = "sync"


class QueryMode(StrEnum):
    """``query(mode=...)``: the full chat context, or the lean reasoning one."""

    chat = "chat"
    reasoning = "reasoning"


class MessageRole(StrEnum):
    """Who wrote a turn."""

    system = "system"
    user = "user"
    assistant = "assistant"


class FilterOperator(StrEnum):
    """The comparison of a :class:`FilterClause`."""

    eq = "eq"
    ne = "ne"
    in_ = "in"
    gte = "gte"
    lte = "lte"
    gt = "gt"
    lt = "lt"


Mode = AddMode
Mode1 = QueryMode
Role = MessageRole
Role1 = MessageRole
FilterOp = FilterOperator
Status = HealthStatusStatus
Status1 = JobStatusResponseStatus
Type = MemoryItemType
Type1 = MemoryItemType
Type2 = SearchResultType
PageMemoryItem = MemoryPage
FieldScopedBody = ScopedRequest
BodyResourcesRememberResourceFile = ResourceUpload
TesseraApiV1MaintenanceConsolidationSummary = ConsolidationSummary
TesseraApiV1MemoriesConsolidationSummary = ConsolidationSummary
TesseraApiV1MaintenanceJobHandle = JobHandle
TesseraApiV1MemoriesJobHandle = JobHandle
'''


STR_ENUM_BASE = '''

class StrEnum(str, Enum):
    """A ``str`` enum that prints as its value (``f"{hit.type}"`` is ``episode``), as
    ``enum.StrEnum`` does on Python 3.11+; it compares equal to the plain string too."""

    def __str__(self) -> str:
        return str(self.value)
'''


def with_str_enums(text: str) -> str:
    """Base every generated ``(str, Enum)`` on :data:`STR_ENUM_BASE`, declared after the imports.

    The generator writes ``class X(str, Enum)``, whose ``str()`` and f-string form are
    ``X.member`` on Python 3.11+; a member printed in an f-string should read as its value.
    """
    anchor = "from pydantic import BaseModel, ConfigDict, Field\n"
    if anchor not in text:
        raise SystemExit("generated models lack the pydantic import line this script expects")
    text = text.replace("(str, Enum):", "(StrEnum):")
    return text.replace(anchor, anchor + STR_ENUM_BASE, 1)


def check_generator_version() -> None:
    try:
        installed = importlib.metadata.version(GENERATOR)
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            f"{GENERATOR} is not installed: pip install '{GENERATOR}=={GENERATOR_VERSION}'"
        ) from None
    if installed != GENERATOR_VERSION:
        raise SystemExit(
            f"{GENERATOR} {installed} is installed but the models are pinned to "
            f"{GENERATOR_VERSION}: pip install '{GENERATOR}=={GENERATOR_VERSION}'"
        )


def render(contract: Path = DEFAULT_CONTRACT) -> str:
    """Return the text ``models.py`` should have for ``contract``."""
    check_generator_version()
    if not contract.is_file():
        raise SystemExit(f"contract not found: {contract}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "models.py"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                f"--input={contract}",
                f"--output={out}",
                *OPTIONS,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"{GENERATOR} failed:\n{proc.stderr}")
        return with_str_enums(out.read_text(encoding="utf-8")) + PUBLISHED_NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_CONTRACT, help="OpenAPI document")
    parser.add_argument("--output", type=Path, default=MODELS_PATH, help="file to write")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the output would change"
    )
    args = parser.parse_args(argv)
    text = render(args.input)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date; rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
