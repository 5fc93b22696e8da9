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
    '--enum-field-as-literal-map={"status": "enum"}',
    "--collapse-root-models",
    "--use-subclass-enum",
    "--set-default-enum-member",
    # Inline enums are named after their model (``HealthStatusStatus``), not numbered.
    "--naming-strategy=parent-prefixed",
]


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
        return out.read_text(encoding="utf-8")


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
