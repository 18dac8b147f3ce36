"""Which GPEN model restores which face: one model for all, or per face the smallest that loses nothing.

A face pasted back at 40 px gains nothing from a 2048 crop: the paste averages it down 50x, and
GPEN-2048 spends 411 GFLOP on it where GPEN-256 spends a fraction. ``ModelChoice`` holds the
models a user has (by size, each loaded on first use) and gives each face the smallest whose crop
is at least ``FOOTPRINT_MARGIN`` times the crop's footprint in the image (its side in image
pixels); a face larger than that for every model gets the largest. One model (an explicit
choice) is a ``ModelChoice`` of one: every face gets it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import GPENError
from ..model.checkpoint import ONNX_EXTENSION
from ..model.loading import model_size
from .alignment import FaceAlignment, affine_scale

logger = logging.getLogger("gpen")

Model = Callable[[torch.Tensor], torch.Tensor]
"""Anything with an integer ``size`` called on (N, 3, S, S) RGB in [-1, 1] (see ``pipeline``)."""

FOOTPRINT_MARGIN = 2.0
"""Crop pixels per footprint pixel a model must offer. Measured with a perfect restorer (the real 8 MP crop; the
table and its command in docs/performance.md, ``tests/measure_model_choice.py``): from 1.5 on, the pasted face keeps
0.98-1.11 of the perfect paste's fine detail (>= 45 dB at a 64 px footprint, >= 51.9 dB at 256 px); at 1 it keeps
0.82 (39.8 dB at 64 px). 2 is the next measured step above that edge."""


def model_device(model: object) -> torch.device:
    """Where the model computes (``model.device`` if it says, else CPU)."""
    if not callable(model) or not isinstance(getattr(model, "size", None), int):
        raise GPENError(
            f"model must be a callable with an integer .size (e.g. from gpen_ext.load_model), got {type(model).__name__}"
        )
    return torch.device(getattr(model, "device", "cpu"))


def footprint(landmarks: np.ndarray) -> float:
    """The side, in image pixels, of the aligned crop of a face with these five landmarks (whatever the model size)."""
    reference = 512
    return reference / affine_scale(FaceAlignment.from_landmarks(landmarks, reference).matrix)


@dataclass
class ModelChoice:
    """GPEN models by size (name of each), loaded by ``load(name)`` when a face first needs one.

    ``device`` and ``dtype`` are where and in what precision the models run: the detector and the
    face parser follow them before any model is loaded. ``load`` is expected to cache (the WebUI's
    model cache, the CLI's dict): a ModelChoice holds no model itself beyond one restoration.
    """

    names: Mapping[int, str]
    load: Callable[[str], Model]
    device: torch.device
    dtype: torch.dtype
    margin: float = FOOTPRINT_MARGIN
    sizes: list[int] = field(init=False)

    def __post_init__(self) -> None:
        if not self.names:
            raise GPENError("no GPEN model to choose from")
        self.sizes = sorted(self.names)

    @classmethod
    def single(cls, model: Model, name: str = "") -> ModelChoice:
        """Every face restored by ``model`` (named ``name`` in the reports; its size if no name is given)."""
        device = model_device(model)
        size: int = model.size  # type: ignore[attr-defined]
        return cls({size: name or f"GPEN {size}"}, lambda _: model, device, getattr(model, "dtype", torch.float32))

    @classmethod
    def of(cls, model: Model | ModelChoice) -> ModelChoice:
        """``model`` itself when it is a choice already, else the choice of that one model (``single``)."""
        return model if isinstance(model, ModelChoice) else cls.single(model)

    @classmethod
    def from_files(
        cls, files: Mapping[str, Path], load: Callable[[Path], Model], device: torch.device, dtype: torch.dtype
    ) -> ModelChoice:
        """A choice among model files (name -> path; e.g. a models folder), one per size.

        Of two files of one size, a checkpoint wins over an ``.onnx`` file (it follows the precision
        setting), then the larger file. A file that is no readable GPEN model is left out with a
        warning while another one works; with none left, its error is raised.
        """
        by_size: dict[int, str] = {}
        errors: list[GPENError] = []
        ranked = sorted(files, key=lambda name: (files[name].suffix.lower() == ONNX_EXTENSION, -files[name].stat().st_size))
        for name in ranked:
            try:
                size = file_model_size(files[name])
            except GPENError as error:
                logger.warning("GPEN: %s is left out of the automatic choice: %s", files[name].name, error)
                errors.append(error)
                continue
            by_size.setdefault(size, name)
        if not by_size and errors:
            raise errors[0]
        return cls(by_size, lambda name: load(files[name]), device, dtype)

    def size_for(self, landmarks: np.ndarray) -> int:
        """The smallest size of at least ``margin`` x the face's footprint; the largest for a face larger than that."""
        needed = self.margin * footprint(landmarks)
        return next((size for size in self.sizes if size >= needed), self.sizes[-1])

    def model(self, size: int) -> Model:
        """The model of ``size``, loaded (through ``load``) and checked to be that size."""
        model = self.load(self.names[size])
        if getattr(model, "size", None) != size:
            raise GPENError(f"model {self.names[size]} was listed as GPEN {size} but loads as {getattr(model, 'size', None)}")
        return model


def file_model_size(path: Path) -> int:
    """``model_size`` of a file, remembered while the file is unchanged: the WebUI asks for every image."""
    status = path.stat()
    return _file_model_size(str(path.resolve()), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=32)
def _file_model_size(path: str, mtime_ns: int, file_bytes: int) -> int:
    return model_size(path)
