"""MiniLM's exported graph rebuilt from its own weights with onnxruntime's fused BERT operators.

The int8 model is a PyTorch export that spells each layer's attention out in some twenty
small operators (reshapes, transposes, a -inf mask, a NaN guard) and its GELU in five more;
onnxruntime fuses none of them, and on short texts those small operators cost as much as
the matrix products. The same weights are laid here into EmbedLayerNormalization, Attention
(one product for Q, K and V), SkipLayerNormalization and BiasGelu. They stay int8 with their
float32 scales, dequantised by the same Cast and Mul the export uses, which onnxruntime folds
into the same float32 matrices at load, so the file stays small and memory stays as before.
The vectors stay those of the exported graph to within a few 1e-7
(tests/test_ingest_embedder.py), and embedding runs about twice as fast on short texts.
OpenVINO reads these operators too, and runs this graph faster than the exported one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_HEADS = 12  # all-MiniLM-L6-v2: hidden size 384 in 12 heads of 32
MS = "com.microsoft"
ONNX_OPS = ("Cast", "Mul", "MatMul")

Array = npt.NDArray[np.generic]


@dataclass(frozen=True)
class _Weight:
    """A float32 weight of the export: an initializer, or int8 values times a float32 scale."""

    values: Array
    scale: Array | None = None


def _concat_columns(parts: list[_Weight]) -> _Weight:
    """The weights side by side (Q, K and V), still int8 when each has per-column scales."""
    scales = [w.scale for w in parts]
    if all(s is not None and s.shape[0] == 1 for s in scales):
        values = np.concatenate([w.values for w in parts], axis=1)
        return _Weight(values, np.concatenate([s for s in scales if s is not None], axis=1))
    dense = [
        w.values if w.scale is None else np.multiply(w.values, w.scale, dtype=np.float32)
        for w in parts
    ]
    return _Weight(np.concatenate(dense, axis=1))


def _constants(graph: onnx.GraphProto) -> dict[str, _Weight]:
    """Initializers, plus the dequantised weights (Cast to float32, then Mul by a scale)."""
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    found = {name: _Weight(array) for name, array in init.items()}
    casts: dict[str, str] = {}
    for node in graph.node:
        to = {a.name: helper.get_attribute_value(a) for a in node.attribute}.get("to")
        if node.op_type == "Cast" and node.input[0] in init and to == TensorProto.FLOAT:
            casts[node.output[0]] = node.input[0]
        elif node.op_type == "Mul" and node.input[0] in casts and node.input[1] in init:
            found[node.output[0]] = _Weight(init[casts[node.input[0]]], init[node.input[1]])
    return found


def _linears(graph: onnx.GraphProto, weights: dict[str, _Weight]) -> dict[str, _Weight]:
    """The weight matrix of each dense layer, by the name of the bias added to its product."""
    producer = {out: node for node in graph.node for out in node.output}
    found: dict[str, _Weight] = {}
    for node in graph.node:
        if node.op_type != "Add" or len(node.input) != 2 or not node.input[1].endswith(".bias"):
            continue
        matmul = producer.get(node.input[0])
        if matmul is not None and matmul.op_type == "MatMul" and matmul.input[1] in weights:
            found[node.input[1]] = weights[matmul.input[1]]
    return found


def _epsilon(graph: onnx.GraphProto) -> float:
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "LayerNormalization" and attr.name == "epsilon":
                return float(attr.f)
    raise ValueError("the model has no LayerNormalization epsilon")


class _Builder:
    """Collects the fused graph's nodes and initializers."""

    def __init__(self, source: onnx.GraphProto) -> None:
        self.values = _constants(source)
        self.linear = _linears(source, self.values)
        self.eps = _epsilon(source)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, weight: _Weight) -> str:
        """The weight as an initializer, or as int8 and scale initializers dequantised."""
        if weight.scale is None:
            self.initializers.append(numpy_helper.from_array(weight.values, name))
            return name
        for suffix, array in ((".q", weight.values), (".scale", weight.scale)):
            self.initializers.append(numpy_helper.from_array(array, name + suffix))
        cast = self.node("Cast", [name + ".q"], name + ".f", to=TensorProto.FLOAT)
        return self.node("Mul", [cast, name + ".scale"], name)

    def weight(self, key: str) -> str:
        return self.const(key, self.values[f"inner.{key}"])

    def node(self, op: str, inputs: list[str], output: str, **attrs: int | float) -> str:
        node = helper.make_node(op, inputs, [output], domain="" if op in ONNX_OPS else MS)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attrs.items())
        self.nodes.append(node)
        return output

    def embeddings(self) -> str:
        for name in ("input_ids", "token_type_ids", "attention_mask"):
            self.nodes.append(helper.make_node("Cast", [name], [f"{name}32"], to=TensorProto.INT32))
        e = "embeddings."
        inputs = ["input_ids32", "token_type_ids32"]
        inputs += [self.weight(f"{e}{n}_embeddings.weight") for n in ("word", "position")]
        inputs += [self.weight(f"{e}token_type_embeddings.weight")]
        inputs += [self.weight(f"{e}LayerNorm.weight"), self.weight(f"{e}LayerNorm.bias")]
        # The operator's second output (a mask index, which Attention is not given) must exist.
        self.nodes.append(
            helper.make_node(
                "EmbedLayerNormalization",
                [*inputs, "attention_mask32"],
                ["embedded", "mask_index"],
                domain=MS,
                epsilon=self.eps,
            )
        )
        return "embedded"

    def layer(self, i: int, x: str, out: str) -> str:
        p = f"encoder.layer.{i}."
        qkv = [f"inner.{p}attention.self.{part}.bias" for part in ("query", "key", "value")]
        w = self.const(f"{p}qkv.w", _concat_columns([self.linear[b] for b in qkv]))
        b = self.const(f"{p}qkv.b", _Weight(np.concatenate([self.values[b].values for b in qkv])))
        mask = "attention_mask32"
        att = self.node("Attention", [x, w, b, mask], f"{p}att", num_heads=NUM_HEADS)
        mid = self._skip_norm(p + "attention.output", att, x, f"{p}mid")
        up = self.node("MatMul", [mid, self._dense_w(p + "intermediate")], f"{p}up")
        act = self.node("BiasGelu", [up, self.weight(f"{p}intermediate.dense.bias")], f"{p}act")
        return self._skip_norm(p + "output", act, mid, out)

    def _dense_w(self, key: str) -> str:
        return self.const(f"{key}.dense.w", self.linear[f"inner.{key}.dense.bias"])

    def _skip_norm(self, key: str, x: str, skip: str, out: str) -> str:
        """LayerNorm(x @ W + bias + skip), as the exported graph computes each block's end."""
        product = self.node("MatMul", [x, self._dense_w(key)], f"{key}.product")
        norm = [self.weight(f"{key}.LayerNorm.weight"), self.weight(f"{key}.LayerNorm.bias")]
        bias = self.weight(f"{key}.dense.bias")
        return self.node(
            "SkipLayerNormalization", [product, skip, *norm, bias], out, epsilon=self.eps
        )


def fused_model(path: Path) -> bytes:
    """The serialised fused model, with the exported one's inputs and output."""
    builder = _Builder(onnx.load(str(path)).graph)
    layers = sum(1 for name in builder.values if name.endswith(".attention.self.query.bias"))
    x = builder.embeddings()
    for i in range(layers):
        x = builder.layer(i, x, "last_hidden_state" if i == layers - 1 else f"hidden{i + 1}")
    io = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    hidden = int(builder.values["inner.embeddings.LayerNorm.weight"].values.shape[0])
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]
    )
    graph = helper.make_graph(builder.nodes, "minilm_fused", io, [output], builder.initializers)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    # IR 8 (opset 17's) rather than the newest onnx knows, which older onnxruntime refuses.
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    serialised: bytes = model.SerializeToString()
    return serialised
