"""Tiny hand-made data sets in the two benchmark formats, quirks included."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def locomo_samples() -> list[dict[str, Any]]:
    conv_a = {
        "speaker_a": "Caroline",
        "speaker_b": "Melanie",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Caroline", "dia_id": "D1:1", "text": "Hey Mel, I went hiking on Sunday."},
            {"speaker": "Melanie", "dia_id": "D1:2", "text": "Nice! I painted a sunrise."},
            {
                "speaker": "Caroline",
                "dia_id": "D1:3",
                "text": "Look at this.",
                "img_url": ["http://example.invalid/x.jpg"],
                "blip_caption": "a photo of a golden retriever on a beach",
                "query": "dog beach",
            },
        ],
        "session_2_date_time": "10:00 am on 9 June, 2023",
        "session_2": [
            {"speaker": "Melanie", "dia_id": "D2:1", "text": "My kids started violin lessons."},
            {"speaker": "Caroline", "dia_id": "D2:2", "text": "I adopted a dog named Rex."},
        ],
        # A date with no session list: the data has these.
        "session_3_date_time": "9:00 am on 1 July, 2023",
    }
    qa_a = [
        {
            "question": "When did Caroline go hiking?",
            "answer": "Sunday",
            "evidence": ["D1:1"],
            "category": 2,
        },
        {
            "question": "What did Melanie paint?",
            "answer": "a sunrise",
            "evidence": ["D1:02"],
            "category": 4,
        },
        {
            "question": "What pets and hobbies?",
            "answer": "dog, violin",
            "evidence": ["D2:2; D2:1", "D1:3 D:1:1"],
            "category": 1,
        },
        {"question": "Unanswerable?", "adversarial_answer": "x", "evidence": [], "category": 5},
        {"question": "Open?", "answer": "y", "evidence": [], "category": 3},
        {"question": "Ghost?", "answer": 2022, "evidence": ["D9:9", "D", "D2:2"], "category": 3},
    ]
    conv_b = {
        "speaker_a": "Jon",
        "speaker_b": "Gina",
        "session_1_date_time": "8:00 pm on 1 January, 2023",
        "session_1": [
            {"speaker": "Jon", "dia_id": "D1:1", "text": "I lost my job at the bank."},
            {"speaker": "Gina", "dia_id": "D1:2", "text": "I am opening a clothing store."},
        ],
    }
    qa_b = [
        {
            "question": "What store is Gina opening?",
            "answer": "clothing",
            "evidence": ["D1:2"],
            "category": 4,
        }
    ]
    return [
        {"sample_id": "conv-a", "conversation": conv_a, "qa": qa_a},
        {"sample_id": "conv-b", "conversation": conv_b, "qa": qa_b},
    ]


def longmemeval_entries() -> list[dict[str, Any]]:
    return [
        {
            "question_id": "q1",
            "question_type": "single-session-user",
            "question": "What degree did I graduate with?",
            "answer": "Business Administration",
            "question_date": "2023/05/30 (Tue) 23:40",
            # Deliberately out of date order.
            "haystack_dates": ["2023/05/21 (Sun) 19:50", "2023/05/20 (Sat) 02:21"],
            "haystack_session_ids": ["s_b", "s_a"],
            "haystack_sessions": [
                [
                    {
                        "role": "user",
                        "content": "I graduated with a degree in Business Administration.",
                        "has_answer": True,
                    },
                    {"role": "assistant", "content": "Congratulations on your degree!"},
                ],
                [
                    {"role": "user", "content": "Recommend a pasta recipe.", "has_answer": False},
                    {"role": "assistant", "content": "Try carbonara with eggs and pecorino."},
                ],
            ],
            "answer_session_ids": ["s_b"],
        },
        {
            "question_id": "q2",
            "question_type": "temporal-reasoning",
            "question": "Which did I buy first, the bike or the kayak?",
            "answer": "bike",
            "question_date": "2023/06/30 (Fri) 10:00",
            "haystack_dates": ["2023/06/01 (Thu) 10:00", "2023/06/10 (Sat) 10:00"],
            "haystack_session_ids": ["s_c", "s_d"],
            "haystack_sessions": [
                [{"role": "user", "content": "I bought a new bike today.", "has_answer": True}],
                [
                    {"role": "user", "content": "Tips for kayaking?"},
                    {
                        "role": "assistant",
                        "content": "Since you bought a kayak, wear a vest.",
                        "has_answer": True,
                    },
                ],
            ],
            "answer_session_ids": ["s_c", "s_d"],
        },
        {
            "question_id": "q3_abs",
            "question_type": "single-session-user",
            "question": "What is my cat's name?",
            "answer": "You did not mention a cat.",
            "question_date": "2023/05/30 (Tue) 23:40",
            "haystack_dates": ["2023/05/21 (Sun) 19:50"],
            "haystack_session_ids": ["s_e"],
            "haystack_sessions": [
                [{"role": "user", "content": "I have a dog.", "has_answer": False}]
            ],
            "answer_session_ids": ["s_e"],
        },
    ]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    (root / "locomo10.json").write_text(json.dumps(locomo_samples()), encoding="utf-8")
    with gzip.open(root / "longmemeval_oracle.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(longmemeval_entries(), fh)
    return root


class HashEmbedder:
    """A deterministic bag-of-words embedder, so tests need no model."""

    model_id = "test-hash"

    def embed(self, texts: Any) -> Any:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in str(text).lower().split():
                out[i, zlib.crc32(word.strip(".,?!:").encode()) % 384] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (out / norms).astype(np.float32)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()
