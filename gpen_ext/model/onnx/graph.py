"""What an ONNX file declares (inputs, outputs, operators, weight names), read without running it.

Checking a file before onnxruntime sees it must not need the ``onnx`` package (users who have
ONNX models have onnxruntime, rarely ``onnx``), and must not parse 285 MB of weights. ONNX is a
protobuf message, so this reads the protobuf wire format directly, descending only into the
few fields it needs and skipping the rest (weight bytes included) by their length prefix.
A truncated file shows as a field running past the end of the file.

Field numbers are those of ``onnx.proto`` (ModelProto, GraphProto, NodeProto, ...).
"""
from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
FIXED_SIZES = {FIXED64: 8, FIXED32: 4}

# ModelProto
MODEL_IR_VERSION, MODEL_OPSET, MODEL_PRODUCER, MODEL_GRAPH, MODEL_FUNCTIONS = 1, 8, 2, 7, 25
# GraphProto
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_SPARSE_INITIALIZER = 1, 5, 11, 12, 15
# NodeProto / FunctionProto / AttributeProto / OperatorSetIdProto
NODE_NAME, NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOMAIN = 3, 4, 5, 7
FUNCTION_NAME, FUNCTION_NODE, FUNCTION_DOMAIN = 1, 7, 10
ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS = 6, 11
OPSET_DOMAIN = 1
# TensorProto (initializers), SparseTensorProto
TENSOR_NAME, TENSOR_DATA_LOCATION, SPARSE_VALUES = 8, 14, 1
EXTERNAL = 1
# ValueInfoProto -> TypeProto -> TypeProto.Tensor -> TensorShapeProto -> Dimension
VALUE_NAME, VALUE_TYPE, TYPE_TENSOR, TENSOR_ELEM_TYPE, TENSOR_SHAPE, SHAPE_DIM, DIM_VALUE, DIM_PARAM = 1, 2, 1, 1, 2, 1, 1, 2

ELEMENT_TYPES = {1: "float32", 10: "float16", 16: "bfloat16", 11: "float64"}
"""ONNX element types a face restorer's input could have (TensorProto.DataType numbers)."""


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated, or not protobuf at all)."""


Dim = int | str | None
"""A dimension: its size, the name of a dynamic dimension, or None when not declared."""


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, element type ("float32", ... or "type N") and shape (None: no shape)."""

    name: str
    element_type: str
    shape: tuple[Dim, ...] | None


@dataclass
class GraphSummary:
    """What :func:`read_graph` found in a model file."""

    ir_version: int = 0
    producer: str = ""
    opset_domains: set[str] = field(default_factory=set)
    operators: set[tuple[str, str]] = field(default_factory=set)
    """(domain, op_type) of every node, subgraphs and local functions included; "" is the standard domain."""
    functions: set[tuple[str, str]] = field(default_factory=set)
    """(domain, name) of the model's local functions (made of other nodes, listed in ``operators``)."""
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    weight_names: list[str] = field(default_factory=list)
    node_names: list[str] = field(default_factory=list)
    external_data: bool = False


def read_graph(path: str | Path) -> GraphSummary:
    """The summary of the ONNX file at ``path``; ``WireError`` if it is not a complete protobuf message."""
    with Path(path).open("rb") as stream:
        if stream.seek(0, 2) == 0:
            raise WireError("the file is empty")
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                return summarize(view)
            finally:
                view.release()


def summarize(data: memoryview | bytes) -> GraphSummary:
    """The summary of a serialized ``ModelProto``."""
    data = memoryview(data)
    summary = GraphSummary()
    graph = None
    for number, value in fields(data):
        if number == MODEL_IR_VERSION and isinstance(value, int):
            summary.ir_version = value
        elif number == MODEL_PRODUCER and isinstance(value, memoryview):
            summary.producer = text(value)
        elif number == MODEL_OPSET and isinstance(value, memoryview):
            summary.opset_domains.add(text(first(value, OPSET_DOMAIN, b"")))
        elif number == MODEL_GRAPH and isinstance(value, memoryview):
            graph = value
        elif number == MODEL_FUNCTIONS and isinstance(value, memoryview):
            read_function(value, summary)
    if graph is None or summary.ir_version == 0:
        raise WireError("no ONNX graph in it")
    read_graph_proto(graph, summary, top=True)
    return summary


def read_graph_proto(graph: memoryview, summary: GraphSummary, top: bool) -> None:
    """Collect the operators of ``graph`` (and of its subgraphs); for the top graph also its I/O and weights."""
    inputs, weights = [], set()
    for number, value in fields(graph):
        if not isinstance(value, memoryview):
            continue
        if number == GRAPH_NODE:
            read_node(value, summary)
        elif not top:
            continue
        elif number == GRAPH_INPUT:
            inputs.append(tensor_info(value))
        elif number == GRAPH_OUTPUT:
            summary.outputs.append(tensor_info(value))
        elif number in (GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER):
            tensor = first(value, SPARSE_VALUES, value) if number == GRAPH_SPARSE_INITIALIZER else value
            weights.add(text(first(tensor, TENSOR_NAME, b"")))
            summary.external_data |= first(tensor, TENSOR_DATA_LOCATION, 0) == EXTERNAL
    if top:
        # Before IR version 4 every initializer was also listed as an input: those are not fed by the caller.
        summary.inputs = [info for info in inputs if info.name not in weights]
        summary.weight_names = sorted(weights)


def read_node(node: memoryview, summary: GraphSummary) -> None:
    domain, op_type = "", ""
    for number, value in fields(node):
        if number == NODE_OP_TYPE:
            op_type = text(value)
        elif number == NODE_DOMAIN:
            domain = text(value)
        elif number == NODE_NAME:
            summary.node_names.append(text(value))
        elif number == NODE_ATTRIBUTE and isinstance(value, memoryview):
            for inner, graph in fields(value):
                if inner in (ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS) and isinstance(graph, memoryview):
                    read_graph_proto(graph, summary, top=False)
    summary.operators.add((domain, op_type))


def read_function(function: memoryview, summary: GraphSummary) -> None:
    domain, name = "", ""
    for number, value in fields(function):
        if number == FUNCTION_NAME:
            name = text(value)
        elif number == FUNCTION_DOMAIN:
            domain = text(value)
        elif number == FUNCTION_NODE and isinstance(value, memoryview):
            read_node(value, summary)
    summary.functions.add((domain, name))


def tensor_info(value_info: memoryview) -> TensorInfo:
    """A ``ValueInfoProto``: its name, and element type and shape when it is a tensor."""
    name = text(first(value_info, VALUE_NAME, b""))
    tensor = first(first(value_info, VALUE_TYPE, b""), TYPE_TENSOR, None)
    if tensor is None:
        return TensorInfo(name, "not a tensor", None)
    element = first(tensor, TENSOR_ELEM_TYPE, 0)
    shape = first(tensor, TENSOR_SHAPE, None)
    dims = None if shape is None else tuple(dimension(dim) for number, dim in fields(shape) if number == SHAPE_DIM)
    return TensorInfo(name, ELEMENT_TYPES.get(element, f"type {element}"), dims)


def dimension(dim: memoryview) -> Dim:
    value = first(dim, DIM_VALUE, None)
    if value is not None:
        return value
    param = first(dim, DIM_PARAM, None)
    return None if param is None else text(param)


def first(message: memoryview | bytes, wanted: int, default: object) -> object:
    """The first value of field ``wanted`` in ``message``, or ``default``."""
    return next((value for number, value in fields(memoryview(message)) if number == wanted), default)


def text(value: object) -> str:
    return bytes(value).decode("utf-8", errors="replace") if isinstance(value, memoryview | bytes) else ""


def fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of every field of one message: ints for varints, views for everything else."""
    position, end = 0, len(data)
    while position < end:
        key, position = varint(data, position)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("invalid protobuf field number 0")
        if wire_type == VARINT:
            value, position = varint(data, position)
            yield number, value
            continue
        if wire_type == LENGTH:
            size, position = varint(data, position)
        elif wire_type in FIXED_SIZES:
            size = FIXED_SIZES[wire_type]
        else:
            raise WireError(f"invalid protobuf wire type {wire_type}")
        if position + size > end:
            raise WireError("the data ends inside a field")
        yield number, data[position : position + size]
        position += size


def varint(data: memoryview, position: int) -> tuple[int, int]:
    """The base-128 varint at ``position`` and the position after it."""
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise WireError("the data ends inside a number")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise WireError("malformed number")
