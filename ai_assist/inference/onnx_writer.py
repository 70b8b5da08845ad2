"""Write a small ONNX graph as protobuf bytes with the standard library alone.

The project's own tiny models (the style profile's weight predictor) are exported here rather
than through `torch.onnx.export`, which needs the `onnx` package besides torch. Only what such a
model uses is written: float tensors, int/float/ints attributes, fixed input and output shapes.
Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ...).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

IR_VERSION = 8
OPSET = 13
_FLOAT = 1  # TensorProto.DataType.FLOAT
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7  # AttributeProto.AttributeType


@dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, float | int | list[int]] = field(default_factory=dict)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement varints
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value)


def _bytes(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _key(number, 2) + _varint(len(data)) + data


def _attribute(name: str, value: float | int | list[int]) -> bytes:
    out = _bytes(1, name)
    if isinstance(value, float):
        return out + _key(2, 5) + struct.pack("<f", value) + _int(20, _ATTR_FLOAT)
    if isinstance(value, int):
        return out + _int(3, value) + _int(20, _ATTR_INT)
    return out + b"".join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)


def _node(node: Node, index: int) -> bytes:
    out = b"".join(_bytes(1, name) for name in node.inputs)
    out += b"".join(_bytes(2, name) for name in node.outputs)
    out += _bytes(3, f"{node.op_type}_{index}") + _bytes(4, node.op_type)
    return out + b"".join(_bytes(5, _attribute(k, v)) for k, v in node.attributes.items())


def _tensor(name: str, array: np.ndarray) -> bytes:
    values = np.ascontiguousarray(array, dtype="<f4")
    dims = b"".join(_int(1, d) for d in values.shape)
    return dims + _int(2, _FLOAT) + _bytes(8, name) + _bytes(9, values.tobytes())


def _value_info(name: str, shape: tuple[int, ...]) -> bytes:
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    tensor_type = _int(1, _FLOAT) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def onnx_model(
    nodes: list[Node],
    initializers: dict[str, np.ndarray],
    inputs: dict[str, tuple[int, ...]],
    outputs: dict[str, tuple[int, ...]],
    *,
    name: str,
) -> bytes:
    """Return the serialised ModelProto of a float32 graph (opset 13)."""
    graph = b"".join(_bytes(1, _node(node, i)) for i, node in enumerate(nodes))
    graph += _bytes(2, name)
    graph += b"".join(_bytes(5, _tensor(k, v)) for k, v in initializers.items())
    graph += b"".join(_bytes(11, _value_info(k, v)) for k, v in inputs.items())
    graph += b"".join(_bytes(12, _value_info(k, v)) for k, v in outputs.items())
    opset = _bytes(1, "") + _int(2, OPSET)
    return _int(1, IR_VERSION) + _bytes(2, "studio-platform") + _bytes(7, graph) + _bytes(8, opset)
