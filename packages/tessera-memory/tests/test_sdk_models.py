"""Generated models: no drift from openapi.json, the public names, tolerance of extra fields;
and the ULID minting behind memories.add."""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path
from types import ModuleType

import pydantic
import pytest
from tessera_memory import models, new_ulid
from tessera_memory._ulid import CROCKFORD_ALPHABET

PACKAGE_DIR = Path(__file__).resolve().parents[1]

PUBLIC_MODELS = [
    "MemoryItem", "FactItem", "SyncAddResponse", "AsyncAddResponse", "BatchAddResponse",
    "BatchMessage", "PinResponse", "ForgetResponse", "WipeResponse", "SearchResponse",
    "SearchResult", "FilterClause", "QueryResponse", "TypedResult", "ForesightItem", "Provenance",
    "ProcedureView", "RecallProceduresResponse", "RecalledProcedure", "ResourceItem",
    "RecallResourcesResponse", "RecalledResource", "ReindexResponse", "CompressResponse",
    "EnqueuedResponse", "ConsolidationSummary", "JobHandle", "JobStatusResponse", "HealthStatus",
    "ProblemDetail",
]  # fmt: skip


def load_generator() -> ModuleType:
    path = PACKAGE_DIR / "scripts" / "generate_models.py"
    spec = importlib.util.spec_from_file_location("tessera_generate_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_models_match_the_committed_contract() -> None:
    generator = load_generator()
    assert generator.DEFAULT_CONTRACT.is_file(), "openapi.json is missing at the repository root"
    committed = generator.MODELS_PATH.read_text(encoding="utf-8")
    assert generator.render() == committed, (
        "models.py is out of date with openapi.json; run "
        "`python packages/tessera-memory/scripts/generate_models.py`"
    )


@pytest.mark.parametrize("name", PUBLIC_MODELS)
def test_public_model_names(name: str) -> None:
    cls = getattr(models, name)
    assert issubclass(cls, pydantic.BaseModel)
    assert cls.model_config.get("extra") in ("allow", "ignore")


def test_health_status_is_an_enum_with_ok() -> None:
    status = models.HealthStatus.model_validate({"status": "ok"}).status
    assert status.value == "ok"


def test_every_response_model_accepts_unknown_fields() -> None:
    item = models.SearchResult.model_validate(
        {"id": "ep_1", "type": "episode", "text": "t", "score": 1.0, "from_the_future": [1]}
    )
    assert item.model_extra == {"from_the_future": [1]}
    for name in dir(models):
        cls = getattr(models, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, pydantic.BaseModel)
            and cls is not pydantic.BaseModel
        ):
            assert cls.model_config.get("extra") != "forbid", name


def test_ulid_shape() -> None:
    ulid = new_ulid()
    assert len(ulid) == 26
    assert re.fullmatch(f"[{CROCKFORD_ALPHABET}]{{26}}", ulid)
    assert ulid[0] in "01234567"  # 128 bits in 130: the first character carries 3 bits


def test_ulid_encodes_its_timestamp() -> None:
    ms = 1_700_000_000_123
    ulid = new_ulid(ms)
    value = 0
    for ch in ulid:
        value = value * 32 + CROCKFORD_ALPHABET.index(ch)
    assert value >> 80 == ms
    assert new_ulid(0).startswith("0000000000")
    with pytest.raises(ValueError):
        new_ulid(1 << 48)


def test_ulids_are_unique_and_sort_by_time() -> None:
    now = time.time_ns() // 1_000_000
    ids = [new_ulid(now + i) for i in range(500)]
    assert len(set(ids)) == 500
    assert ids == sorted(ids)
    assert len({new_ulid(now) for _ in range(1000)}) == 1000
