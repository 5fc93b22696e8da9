"""Ids in paths are always one opaque segment: no id can reach another route."""

from __future__ import annotations

import pytest
from tessera_memory._operation import path


@pytest.mark.parametrize(
    ("turn_id", "expected"),
    [
        ("..", "/v1/memories/turns/%2E%2E"),
        (".", "/v1/memories/turns/%2E"),
        ("a/b", "/v1/memories/turns/a%2Fb"),
        ("...", "/v1/memories/turns/..."),
        ("01J0ABC", "/v1/memories/turns/01J0ABC"),
        ("x y?z#", "/v1/memories/turns/x%20y%3Fz%23"),
    ],
)
def test_ids_are_single_encoded_segments(turn_id: str, expected: str) -> None:
    assert path("/v1/memories/turns/{}", turn_id) == expected
