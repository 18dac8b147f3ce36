"""Stand-ins that let one ``restore_faces`` call be split across Ray stages without copying it.

The plain CLI runs detection, the model and the paste in one ``restore_faces`` call. On Ray the
model runs in an actor and the rest in CPU tasks, yet the outputs must be the plain CLI's byte
for byte. So every stage runs the pipeline's own code: the detection stage records what the
detector answered (``RecordingDetector``); the paste stage runs ``restore_faces`` again with
those answers replayed (``ReplayDetector``) and the actor's outputs replayed as the model
(``ReplayModel``). Selection, alignment, masks and paste are thus the very same code.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import GPENError
from ..faces.detection import Detection, FaceDetector

DetectorCall = tuple[tuple[int, ...], list[Detection]]
"""One detector call: the shape of the pixels it was given, and its detections."""


class RecordingDetector:
    """A detector that keeps every answer of ``detector`` (``detect_faces`` may ask more than once per image)."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self.calls: list[DetectorCall] = []

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        found = self.detector.detect(image, confidence)
        self.calls.append((image.shape, found))
        return found


class ReplayDetector:
    """A detector that gives back the recorded answers, in order, for pixels of the recorded shapes."""

    def __init__(self, calls: list[DetectorCall]) -> None:
        self.calls = list(calls)

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        if not self.calls or self.calls[0][0] != image.shape:
            raise GPENError("the image differs from the one the detection stage saw (was the file changed during the run?)")
        return self.calls.pop(0)[1]


class ReplayModel:
    """A model of ``size`` and ``dtype`` that answers each call with the next of ``outputs`` (the actor's results).

    With no outputs it stands for the model's shape alone (the detection stage never calls it).
    """

    def __init__(self, size: int, dtype: torch.dtype = torch.float32, outputs: list[torch.Tensor] | None = None) -> None:
        self.size, self.dtype, self.device = size, dtype, torch.device("cpu")
        self.outputs = list(outputs or [])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if not self.outputs or self.outputs[0].shape[0] != batch.shape[0]:
            raise GPENError("the model stage's results do not match the faces to paste")
        return self.outputs.pop(0)
