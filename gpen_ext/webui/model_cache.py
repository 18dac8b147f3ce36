"""Load each GPEN model once and keep it, parked on the CPU between uses when VRAM is scarce.

GPEN-BFR-2048 is 285 MB and takes seconds to read and validate, while the WebUI asks for face
restoration once per generated image: reading the file every time would dominate the run.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from ..faces import facexlib_models
from ..model.download import downloaded_digest
from ..model.loading import load_model
from .messages import logger

CacheKey = tuple[str, int, str, str]


class ModelCache:
    """A small LRU of loaded models keyed by file (and its mtime), device and precision.

    ``capacity`` bounds host memory: an X/Y/Z plot over two models should not reload each cell,
    but every model kept costs about 285 MB.
    """

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self._models: OrderedDict[CacheKey, nn.Module] = OrderedDict()

    def get(self, path: Path, device: torch.device, precision: str = "auto") -> nn.Module:
        """The model for ``path`` on ``device``, loaded on first use and moved back from the CPU if parked."""
        path = Path(path).resolve()
        key = (str(path), path.stat().st_mtime_ns, str(device), precision)
        model = self._models.pop(key, None)
        if model is None:
            digest = downloaded_digest(path)  # once per load, only for files GPEN downloaded
            if digest is not None and digest.changed:
                logger.warning("GPEN: %s", digest.warning(path))
            model = load_model(path, device=device, dtype=precision)
        self._models[key] = model.to(device)
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)
        return model

    def offload(self) -> None:
        """Park every cached model on the CPU, freeing accelerator memory but keeping the weights.

        The face detector and parser run where GPEN runs; they are small enough to reload from
        disk, so off the CPU they are released rather than parked.
        """
        if any(model.device.type != "cpu" for model in self._models.values()):
            facexlib_models.release_networks()
        for model in self._models.values():
            model.to("cpu")

    def clear(self) -> None:
        """Forget every model and the detector/parser networks (after an out-of-memory error, before retrying)."""
        self._models.clear()
        facexlib_models.release_networks()

    def __len__(self) -> int:
        return len(self._models)


MODEL_CACHE = ModelCache()
"""The one cache shared by the face restorer, the scripts and the API of a WebUI process."""
