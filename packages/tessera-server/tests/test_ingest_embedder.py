"""The bundled embedder runs a fused rebuild of the exported MiniLM graph (embedder/fused.py).

Stored vectors must not move: the fused graph has to give the exported graph's vectors, for
texts short and long (truncated at 256 tokens), alone or padded inside a batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from tessera_server.providers.embedder.minilm import MAX_TOKENS, MiniLMEmbedder

TEXTS = [
    "Hey Mel! Good to see you! How have you been?",
    "I went to a LGBTQ support group yesterday and it was so powerful.",
    "ok",
    "Caroline: Thanks, Melanie! That charity race sounds great — how did it go?",
    "Ünïcödé wörds: Zürich straße ÉCOLE, naïve café, 東京 and emoji 🎉",
    "   leading and trailing spaces   ",
    "I'm planning a trip to Japan next spring. Any tips for cherry blossom season in Kyoto?",
    "line one\nline two about a dog\n\nand tea",
    "My sister's wedding is on 12 June 2023 at 3pm; we need 40 chairs and a vegan cake.",
    "Sure! Here are a few ideas for a weekend in Lisbon: "
    + "walk through Alfama, take tram 28, eat pastéis de nata in Belém, "
    + "watch the sunset from Miradouro da Senhora do Monte. " * 4,
    "To configure the build, first install the toolchain, then run the setup script "
    + "with the flags you need; every step is logged so you can retrace it later. " * 20,
]


@pytest.fixture(scope="module")
def embedders() -> tuple[MiniLMEmbedder, MiniLMEmbedder]:
    return MiniLMEmbedder(), MiniLMEmbedder(fused=False)


def test_fused_graph_gives_the_exported_graphs_vectors(
    embedders: tuple[MiniLMEmbedder, MiniLMEmbedder],
) -> None:
    fused, exported = embedders
    tokens = [len(fused._tokenizer.encode(t).ids) for t in TEXTS]
    assert max(tokens) == MAX_TOKENS and min(tokens) < 8  # truncated and heavily padded rows
    ours, theirs = fused.embed(TEXTS), exported.embed(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_a_text_gets_the_same_vector_alone_or_in_a_batch(
    embedders: tuple[MiniLMEmbedder, MiniLMEmbedder],
) -> None:
    fused, _ = embedders
    together = fused.embed(TEXTS)
    alone = np.concatenate([fused.embed([t]) for t in TEXTS])
    assert together.tobytes() == alone.tobytes()
    reordered = fused.embed(TEXTS[::-1])[::-1]
    assert reordered.tobytes() == together.tobytes()
