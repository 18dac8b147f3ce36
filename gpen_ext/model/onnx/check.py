"""Is an ONNX file a GPEN-BFR model? Decided from what the graph declares, before anything runs it.

GPEN ONNX files come from other tools (facefusion's ``gpen_bfr_*.onnx``, ReActor's
``GPEN-BFR-*.onnx``) or from ``python -m gpen_ext export``: one float image input (N, 3, S, S),
S one of the released sizes, and one output of the same shape. Anything else gets one message
saying what the file is, where that can be told (a face detector, another restorer), as the
``.pth`` checks do. Only operators of the standard domains are accepted, so a file can never ask
onnxruntime for a custom operator (none is registered, and none will be).
"""
from __future__ import annotations

from pathlib import Path

from ...errors import CheckpointError
from ..checkpoint_formats import (
    DOWNLOAD_AGAIN,
    FOREIGN_SIGNATURES,
    PICKLE_PROTOCOL_OPCODE,
    ZIP_MAGIC,
    describe_content,
)
from ..checkpoint_kinds import identify_model
from .graph import GraphSummary, TensorInfo

GPEN_SIZES = (256, 512, 1024, 2048)
IMAGE_TYPES = ("float32", "float16")
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")
"""The ONNX standard domains, and onnxruntime's own built-in operators (``com.microsoft``, e.g. in
files saved after onnxruntime's graph optimizations): their code ships with onnxruntime, not the file."""
DETECTOR_OUTPUTS = ("loc", "conf", "landmarks", "landms", "boxes", "scores", "bbox", "kps")
EXPECTED_ONNX = (
    "a GPEN-BFR ONNX model: one input (N, 3, S, S) float RGB with S = 256, 512, 1024 or 2048, and one output "
    "of the same shape (e.g. facefusion's gpen_bfr_2048.onnx, ReActor's GPEN-BFR-2048.onnx, or "
    "`python -m gpen_ext export GPEN-BFR-2048.pth -o gpen_bfr_2048.onnx`)"
)
GET_GPEN = "Use a GPEN-BFR .onnx file, or the GPEN-BFR .pth checkpoint."


def onnx_error(path: str | Path, found: str, remedy: str) -> CheckpointError:
    """The one message shape of an unusable ONNX file: which file, what it is, what was expected, what to do."""
    return CheckpointError(f"Cannot load {path}: {found}. Expected {EXPECTED_ONNX}. {remedy}")


def describe_non_onnx(path: str | Path, head: bytes, reason: str) -> CheckpointError:
    """The error for bytes that do not parse as an ONNX model: name what they are, if known."""
    if head.startswith(ZIP_MAGIC) or head[:1] == bytes([PICKLE_PROTOCOL_OPCODE]):
        return onnx_error(
            path, "it is a PyTorch checkpoint named .onnx", "Rename it to .pth: GPEN reads PyTorch checkpoints too."
        )
    if any(head.startswith(signature) for signature, _ in FOREIGN_SIGNATURES) or head.lstrip()[:1] == b"<":
        return onnx_error(path, f"it is {describe_content(head)}, not an ONNX model", DOWNLOAD_AGAIN)
    return onnx_error(path, f"it is not a complete ONNX model ({reason}: an interrupted download, or another format)", DOWNLOAD_AGAIN)


def check_gpen_graph(path: str | Path, graph: GraphSummary) -> int:
    """The model size (256 ... 2048) of a GPEN-shaped graph; a ``CheckpointError`` naming the problem otherwise."""
    custom = sorted({f"{domain}::{op}" for domain, op in graph.operators if domain not in STANDARD_DOMAINS}
                    - {f"{domain}::{name}" for domain, name in graph.functions})
    if custom:
        raise onnx_error(
            path, f"it uses custom operators ({', '.join(custom[:3])}), which are never loaded",
            "GPEN ONNX files use standard ONNX operators only; export the model again with standard operators.",
        )
    kind = identify_model(graph.weight_names + [name.strip("/").replace("/", ".") for name in graph.node_names])
    if kind is not None:
        raise onnx_error(path, f"it is a {kind.name} model, not GPEN", kind.advice)
    if looks_like_detector(graph.outputs):
        names = ", ".join(output.name for output in graph.outputs)
        raise onnx_error(
            path, f"it is a face or object detector (its outputs are {names}), not a face restorer",
            "Detectors are not face restorers; GPEN brings its own face detection.",
        )
    if len(graph.inputs) != 1:
        names = ", ".join(info.name for info in graph.inputs) or "none"
        restorer = " (a restorer with a fidelity input, e.g. CodeFormer)" if len(graph.inputs) == 2 else ""
        raise onnx_error(path, f"it has {len(graph.inputs)} inputs ({names}){restorer}; GPEN takes one image", GET_GPEN)
    if len(graph.outputs) != 1:
        raise onnx_error(path, f"it has {len(graph.outputs)} outputs; GPEN returns one image", GET_GPEN)
    size = image_size(path, graph.inputs[0])
    output = graph.outputs[0]
    if output.shape is not None and output.shape[1:] != graph.inputs[0].shape[1:]:
        raise onnx_error(
            path, f"its output {shape_text(output)} does not match its input {shape_text(graph.inputs[0])}", GET_GPEN
        )
    return size


def image_size(path: str | Path, info: TensorInfo) -> int:
    """S of an input declared as (N, 3, S, S) float with a released GPEN size."""
    if info.element_type not in IMAGE_TYPES:
        raise onnx_error(path, f"its input '{info.name}' is {info.element_type}, not a float image", GET_GPEN)
    shape = info.shape
    if shape is None or len(shape) != 4 or shape[1] != 3:
        raise onnx_error(path, f"its input is {shape_text(info)}, not an RGB image batch (N, 3, S, S)", GET_GPEN)
    height, width = shape[2:]
    if not isinstance(height, int) or not isinstance(width, int):
        raise onnx_error(
            path, f"its input size is dynamic ({shape_text(info)}), so the GPEN model size cannot be known",
            "GPEN ONNX models have a fixed size: export them with a fixed height and width (dynamic batch is fine).",
        )
    if height != width or height not in GPEN_SIZES:
        raise onnx_error(path, f"its input is {height}x{width}, not a GPEN size", GET_GPEN)
    return height


def looks_like_detector(outputs: list[TensorInfo]) -> bool:
    """Several outputs named like boxes, scores or landmarks: a detector such as RetinaFace or SCRFD."""
    return len(outputs) > 1 and any(output.name.lower().startswith(DETECTOR_OUTPUTS) for output in outputs)


def shape_text(info: TensorInfo) -> str:
    dims = "?" if info.shape is None else ", ".join("?" if dim is None else str(dim) for dim in info.shape)
    return f"'{info.name}' ({dims})"
