"""The embedder benchmark's parts: candidates from the command line, the text sets drawn by
token count, and the neighbour comparison. Never its timings."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from tessera_bench.embedcpu import (
    SETS,
    Candidate,
    neighbours,
    overlap,
    parse_candidate,
    pick_sets,
)
from tessera_server.providers.embedder.minilm import build_tokenizer


def test_a_candidate_names_a_runtime_its_arithmetic_threads_and_options() -> None:
    c = parse_candidate("ov-int8-t1:runtime=openvino,precision=int8,threads=1")
    assert c == Candidate("ov-int8-t1", "openvino", "int8", 1)
    o = parse_candidate("ort:runtime=onnxruntime,graph=extended,session.x=1")
    assert o.options == {"graph": "extended", "session.x": "1"}
    for bad in (":runtime=openvino", "x:threads"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_candidate(bad)


def test_each_set_holds_texts_of_its_token_range_drawn_the_same_way_each_time() -> None:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "it",
        "rains",
    ]
    texts = [" ".join(words[i % 12] for i in range(n)) for n in range(5, 400, 3)]
    questions = [" ".join(words[: n % 12 + 1]) + "?" for n in range(40)]
    sets = pick_sets(texts, questions, seed=3)
    assert sets == pick_sets(texts, questions, seed=3)
    tokenizer = build_tokenizer()
    tokenizer.no_truncation()
    for name, chosen in sets.items():
        spec = SETS[name]
        assert chosen and len(set(chosen)) == len(chosen)
        assert all(spec.low <= len(tokenizer.encode(t).ids) <= spec.high for t in chosen)
    assert set(sets["query"]) <= set(questions)


def test_neighbour_overlap_counts_the_top_ids_both_rankings_share() -> None:
    corpus = np.eye(4, dtype=np.float32)
    q = np.array([[1.0, 0.5, 0.2, 0.0]], dtype=np.float32)
    assert neighbours(q, corpus, top=2).tolist() == [[0, 1]]
    moved = np.array([[1.0, 0.1, 0.5, 0.0]], dtype=np.float32)
    assert overlap(neighbours(q, corpus, 2), neighbours(moved, corpus, 2)) == 0.5
    assert overlap(neighbours(q, corpus, 2), neighbours(q, corpus, 2)) == 1.0
