"""mem0 OSS as a peer system: raw turns stored with ``infer=False`` on the same embedder.

mem0 is imported lazily and only here: its dependency pins clash with the rest of a shared
environment, so it is meant to be installed into its own virtual environment (see the README).
Everything that would reach the network is kept away from it:

- the LLM is never called with ``infer=False``, but mem0 constructs an OpenAI client at start-up,
  so it gets a placeholder key and an unroutable base URL;
- its embedder is replaced by the service's embedder (the same vectors the baselines use);
- telemetry is switched off (``MEM0_TELEMETRY=False``) and Hugging Face is forced offline, so the
  optional hybrid pieces that would download models at run time (fastembed's ``Qdrant/bm25``
  sparse encoder, spaCy's ``en_core_web_sm`` for lemmas and entities) stay disabled: mem0 then
  ranks by its semantic arm alone. :meth:`Mem0System.describe` reports which arms were active.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .data import Scope
from .embedder import Embedder
from .metrics import Hit


class _Mem0Embedding:
    """The ``EmbeddingBase`` duck type mem0 calls: ``embed(text, memory_action) -> list``."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.config: Any = None

    def embed(self, text: str | Sequence[str], memory_action: str | None = None) -> Any:
        if isinstance(text, str):
            return self._embedder.embed([text])[0].tolist()
        return [v.tolist() for v in self._embedder.embed(list(text))]


def _offline_environment(work_dir: Path) -> None:
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(work_dir / "mem0-home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OPENAI_API_KEY", "offline-placeholder-never-used")


class Mem0System:
    name = "mem0"

    def __init__(self, embedder: Embedder, work_dir: Path) -> None:
        _offline_environment(work_dir)
        from mem0 import Memory

        if work_dir.exists():
            shutil.rmtree(work_dir)
        work_dir.mkdir(parents=True)
        config = {
            "vector_store": {
                "provider": "qdrant",
                "config": {
                    "collection_name": "tessera_bench",
                    "embedding_model_dims": 384,
                    "path": str(work_dir / "qdrant"),
                    "on_disk": False,
                },
            },
            "embedder": {
                "provider": "openai",
                "config": {"api_key": "unused", "embedding_dims": 384},
            },
            "llm": {
                "provider": "openai",
                "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1"},
            },
            "history_db_path": str(work_dir / "history.db"),
        }
        self._memory: Any = Memory.from_config(config)
        self._memory.embedding_model = _Mem0Embedding(embedder)
        self._embedder = embedder
        self._turn_of: dict[str, str] = {}
        self.add_calls = 0

    def _ingest(self, scope: Scope) -> None:
        for turn in scope.turns:
            result = self._memory.add(
                [{"role": turn.role, "content": turn.content}],
                user_id=scope.scope_id,
                metadata={"turn_id": turn.turn_id, "dia_id": turn.ref, "speaker": turn.speaker},
                infer=False,
            )
            self.add_calls += 1
            for item in result.get("results", []):
                self._turn_of[str(item["id"])] = turn.turn_id

    def rank(self, scope: Scope, depth: int) -> dict[str, list[Hit]]:
        self._ingest(scope)
        out: dict[str, list[Hit]] = {}
        for q in scope.questions:
            found = self._memory.search(
                q.text, top_k=depth, filters={"user_id": scope.scope_id}, threshold=0.0
            )
            hits: list[Hit] = []
            for item in found.get("results", []):
                meta = item.get("metadata") or {}
                turn_id = str(meta.get("turn_id") or self._turn_of.get(str(item["id"]), ""))
                hits.append(
                    Hit(
                        text=str(item.get("memory", "")),
                        sources=(turn_id,) if turn_id else (),
                        score=float(item.get("score") or 0.0),
                        item_id=str(item["id"]),
                        kind="mem0",
                    )
                )
            out[q.qid] = hits
        return out

    def describe(self) -> dict[str, Any]:
        store = self._memory.vector_store
        try:
            import mem0

            version = str(getattr(mem0, "__version__", "unknown"))
        except ImportError:  # pragma: no cover
            version = "unknown"
        return {
            "kind": "mem0 OSS Memory, infer=False, qdrant local",
            "version": version,
            "embedder": self._embedder.model_id,
            "bm25_arm": bool(getattr(store, "_has_bm25_slot", False)),
            "note": "offline: fastembed/spaCy models are downloads, so mem0 ranks semantically",
        }

    def close(self) -> None:
        return None
