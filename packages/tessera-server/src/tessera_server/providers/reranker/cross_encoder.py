"""An optional cross-encoder read from a local directory, blended with the local features.

A cross-encoder reads the query and a candidate together, which judges relevance better than
comparing two separately made vectors, at the price of one model pass per candidate. No such
weights ship with Tessera; an operator exports one to ONNX (for example an MS MARCO MiniLM
cross-encoder) and sets `TESSERA_RERANKER_MODEL_DIR` to a directory holding:

- `model.onnx`: inputs `input_ids`, `attention_mask` and optionally `token_type_ids`; first
  output the logits, shaped `[batch]`, `[batch, 1]` or `[batch, classes]` (the last class is
  read as "relevant");
- `tokenizer.json`: the model's tokenizer in the Hugging Face `tokenizers` format.

The local reranker still runs: dates, pins and the fused rank carry what a text model cannot
see. The final score is `weight * sigmoid(logit) + (1 - weight) * local`.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from ..embedder import Vectors
from ..tokens import pad_rows
from . import Candidate, Reranker

MAX_TOKENS = 512
BATCH = 16


class CrossEncoderReranker:
    name = "cross-encoder"

    def __init__(self, model_dir: str | Path, local: Reranker, weight: float = 0.7) -> None:
        folder = Path(model_dir)
        model, tokenizer = folder / "model.onnx", folder / "tokenizer.json"
        missing = [p.name for p in (model, tokenizer) if not p.is_file()]
        if missing:
            raise ValueError(
                f"TESSERA_RERANKER_MODEL_DIR={folder} lacks {', '.join(missing)}; it needs "
                "model.onnx and tokenizer.json (see the configuration guide)"
            )
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self._inputs:
            raise ValueError(
                f"{model} takes inputs {sorted(self._inputs)}; a cross-encoder needs "
                "input_ids and attention_mask"
            )
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()  # a tokenizer is not safe to share while encoding
        self._local = local
        self._weight = weight

    def relevance(self, query: str, texts: list[str]) -> list[float]:
        """The model's probability that each text answers the query."""
        with self._lock:
            encodings = self._tokenizer.encode_batch([(query, t or " ") for t in texts])
        out: list[float] = []
        for start in range(0, len(encodings), BATCH):
            batch = encodings[start : start + BATCH]
            ids, mask = pad_rows([e.ids for e in batch])
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = pad_rows([e.type_ids for e in batch])[0]
            logits = np.asarray(self._session.run(None, feeds)[0], dtype=np.float64)
            column = logits.reshape(len(batch), -1)[:, -1]
            out += [1.0 / (1.0 + math.exp(-float(x))) for x in column]
        return out

    def score(self, query: str, query_vector: Vectors, candidates: list[Candidate]) -> list[float]:
        if not candidates:
            return []
        local = self._local.score(query, query_vector, candidates)
        model = self.relevance(query, [c.text for c in candidates])
        w = self._weight
        return [w * m + (1.0 - w) * loc for m, loc in zip(model, local, strict=True)]

    def contributions(
        self, query: str, query_vector: Vectors, candidates: list[Candidate]
    ) -> list[dict[str, float]]:
        """The blend in parts: the model's, and each local feature's share of the rest."""
        if not candidates:
            return []
        explain = getattr(self._local, "contributions", None)
        local: list[dict[str, float]] = (
            explain(query, query_vector, candidates)
            if explain is not None
            else [{"local": s} for s in self._local.score(query, query_vector, candidates)]
        )
        model = self.relevance(query, [c.text for c in candidates])
        w = self._weight
        return [
            {"cross-encoder": w * m, **{k: (1.0 - w) * v for k, v in parts.items()}}
            for m, parts in zip(model, local, strict=True)
        ]
