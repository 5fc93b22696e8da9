"""Ranking rules tested as A/B: the same lines and question through services that differ only
in the rule under test (real services on loopback, bundled embedder, SQLite files).

A rule's test shows the rule changes the answer (without it the property fails on the same
data, so the test would fail before the change) and that with it the property holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pytest
from server_helpers import Api, unique
from tessera_server.testing import ServiceHandle, run_service


@dataclass(frozen=True)
class Line:
    """One turn to store: who said it, what, and when (None: now)."""

    role: str
    text: str
    when: str | None = None


@dataclass(frozen=True)
class Answer:
    """One question's results, as texts best first, reranked and in fusion's order."""

    reranked: list[str]
    fused: list[str]


def texts(results: Sequence[Mapping[str, object]]) -> list[str]:
    return [str(r["text"]) for r in results]


def rank_of(ranked: list[str], needle: str) -> int:
    """The 0-based place of the first text that holds `needle`."""
    return next(i for i, text in enumerate(ranked) if needle in text)


def fill(api: Api, user: str, lines: Sequence[Line]) -> None:
    for line in lines:
        fields: dict[str, object] = {"role": line.role}
        if line.when is not None:
            fields["event_time"] = line.when
        api.sync_add(user, line.text, **fields)


def service_with(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: Mapping[str, str]
) -> Iterator[ServiceHandle]:
    """A module fixture's body: one service with `env` for the rule under test."""
    with run_service(tmp_path_factory.mktemp(name), env=dict(env)) as handle:
        yield handle


def answers(
    handles: Mapping[str, ServiceHandle],
    lines: Sequence[Line],
    question: str,
    *,
    top_k: int | None = None,
) -> dict[str, Answer]:
    """The same lines stored for a fresh user of each service, and the question asked of
    each: by variant name, the reranked results and fusion's (rerank off)."""
    out: dict[str, Answer] = {}
    for name, handle in handles.items():
        api = Api(handle.base_url, handle.api_key)
        try:
            user = unique(name)
            fill(api, user, lines)
            extra: dict[str, object] = {} if top_k is None else {"top_k": top_k}
            reranked = api.search(question, user_id=user, **extra)
            fused = api.search(question, user_id=user, rerank=False, **extra)
            out[name] = Answer(texts(reranked), texts(fused))
        finally:
            api.close()
    return out
