"""A GPEN-BFR ``.onnx`` file run with onnxruntime, behind the same interface as the torch network.

The pipeline needs ``.size``, ``.device``, ``.dtype`` and a call from (N, 3, S, S) float32 RGB in
[-1, 1] to the same; the WebUI's model cache also moves models with ``.to(device)``. onnxruntime
is imported only when an ONNX model is loaded: the extension does not install it, and users
without ``.onnx`` files never need it.
"""
from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from ...errors import CheckpointError
from ..checkpoint_formats import DOWNLOAD_AGAIN, HEAD_SIZE
from .check import check_gpen_graph, describe_non_onnx, onnx_error
from .graph import GraphSummary, WireError, summarize

logger = logging.getLogger("gpen")

INSTALL_HINT = (
    "pip install onnxruntime (or onnxruntime-gpu for NVIDIA GPUs) in the Python environment that runs GPEN "
    "(the WebUI's venv), then restart; or use the model's .pth checkpoint instead"
)
CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"
ERROR_LOGGING = 3  # onnxruntime's log severity "error": its warnings about unused initializers are noise here
NUMPY_TYPES = {"float32": np.float32, "float16": np.float16}
TORCH_TYPES = {"float32": torch.float32, "float16": torch.float16}


def import_onnxruntime() -> ModuleType:
    """The ``onnxruntime`` module, or a ``CheckpointError`` saying how to install it."""
    try:
        import onnxruntime  # optional: only ONNX models need it
    except ImportError as error:
        raise CheckpointError(f"GPEN ONNX models need onnxruntime, which is not installed ({error}): {INSTALL_HINT}.") from error
    return onnxruntime


def read_gpen_onnx(path: Path) -> tuple[bytes, GraphSummary, int]:
    """The file's bytes, what its graph declares, and its GPEN size; a ``CheckpointError`` for anything else."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise onnx_error(path, "no such file", "Check the path, or put the model file in the GPEN models folder.") from error
    except IsADirectoryError as error:
        raise onnx_error(path, "it is a folder, not a model file", "Pick a .onnx, .pth or .safetensors file.") from error
    if not data:
        raise onnx_error(path, "the file is empty (0 bytes), an interrupted download", DOWNLOAD_AGAIN)
    try:
        graph = summarize(data)
    except WireError as error:
        raise describe_non_onnx(path, data[:HEAD_SIZE], str(error)) from error
    return data, graph, check_gpen_graph(path, graph)


class ONNXGenerator:
    """A checked GPEN ``.onnx`` file and its onnxruntime session on the chosen device.

    The session is built at load (so a bad file fails there), dropped when the model moves to a
    device with another execution provider, and built again at the next call. ``dtype`` is the
    graph's own input type: an ONNX file has one precision, so the WebUI's precision setting
    does not apply to it.
    """

    def __init__(self, path: str | Path, device: torch.device) -> None:
        self.path = Path(path)
        self._onnxruntime = import_onnxruntime()
        self.size = 0  # set from the graph by the first session
        self.device = self._placed(device)
        self._session = self._build_session()

    @property
    def dtype(self) -> torch.dtype:
        return TORCH_TYPES[self._input.element_type]

    def to(self, device: str | torch.device) -> ONNXGenerator:
        """Run on ``device`` from now on (CUDA with onnxruntime-gpu, else the CPU); the session follows at the next call."""
        placed = self._placed(torch.device(device))
        if placed != self.device:
            self._session = None  # frees the weights held on the old device
            self.device = placed
        return self

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self._session is None:
            self._session = self._build_session()
        array = image.detach().to("cpu", torch.float32).contiguous().numpy().astype(NUMPY_TYPES[self._input.element_type])
        # A graph exported with batch 1 takes one face per call.
        batches = np.split(array, len(array)) if self._input.shape[0] == 1 else [array]
        outputs = [self._session.run([self._output.name], {self._input.name: batch})[0] for batch in batches]
        return torch.from_numpy(np.concatenate(outputs).astype(np.float32, copy=False)).to(image.device)

    def __repr__(self) -> str:
        return f"ONNXGenerator({self.path.name!r}, size={self.size}, device={self.device}, dtype={self.dtype})"

    def _placed(self, device: torch.device) -> torch.device:
        """Where the session can actually run for ``device``: CUDA needs onnxruntime-gpu's CUDA provider."""
        if device.type == "cuda" and CUDA_PROVIDER in self._onnxruntime.get_available_providers():
            return torch.device("cuda", device.index or 0)
        if device.type != "cpu":
            logger.info("GPEN: %s runs on the CPU: onnxruntime has no provider for %s here", self.path.name, device)
        return torch.device("cpu")

    def _build_session(self) -> object:
        """An onnxruntime session for the file as checked now (read and checked again on each build: the
        file may have changed since the last one)."""
        ort = self._onnxruntime
        data, graph, size = read_gpen_onnx(self.path)
        if self.size and size != self.size:
            raise onnx_error(self.path, f"the file changed from a {self.size} to a {size} model", "Reload the model.")
        self.size, self._input, self._output = size, graph.inputs[0], graph.outputs[0]
        options = ort.SessionOptions()
        options.log_severity_level = ERROR_LOGGING
        options.intra_op_num_threads = torch.get_num_threads()  # as many as the torch network uses
        if self.device.type == "cuda":
            providers = [(CUDA_PROVIDER, {"device_id": self.device.index or 0}), CPU_PROVIDER]
        else:
            providers = [CPU_PROVIDER]
        # Weights in a separate file are resolved by onnxruntime next to the model, so it reads the path itself.
        source = str(self.path) if graph.external_data else data
        try:
            session = ort.InferenceSession(source, sess_options=options, providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types for invalid graphs
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            raise onnx_error(self.path, f"onnxruntime cannot load it ({reason})", DOWNLOAD_AGAIN) from error
        if self.device.type == "cuda" and CUDA_PROVIDER not in session.get_providers():
            logger.warning("GPEN: onnxruntime could not start CUDA for %s; running on the CPU", self.path.name)
            self.device = torch.device("cpu")
        return session
