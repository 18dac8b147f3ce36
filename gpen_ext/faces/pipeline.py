"""The whole face pipeline: image -> detect -> align -> restore -> mask -> paste back.

``restore_faces`` is the one call the CLI and the WebUI make. ``model`` is anything with a
``size`` and ``__call__`` taking (N, 3, size, size) float32 RGB in [-1, 1] and returning the
same (a GPEN generator from ``gpen_ext.load_model``, or e.g. an identity module for tests).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch

from ..errors import NonFiniteOutput
from ..model.arch import auto_dtype
from .alignment import FaceAlignment, affine_scale
from .blending import PastedWeights, paste_face, soften_small_face
from .color_match import match_color
from .detection import Detection, FaceDetector, detect_faces, get_detector
from .images import LUMA_WEIGHTS, color_view, map_images, unit_scale, validate_image
from .masks import MASK_SIZE, FaceParser, face_masks, get_parser
from .model_choice import Model, ModelChoice, model_device
from .option_checks import PIPELINE_VALUES, check_options
from .plausibility import screen_detections
from .tone import PhotoTone, photo_tone
from .tracking import FaceTracks

STOPPED = "stopped before its turn"
"""The reason of a chosen face left as it was because ``should_stop`` said so."""
STAGES = ("detection", "alignment", "model", "mask", "paste")
DEFAULT_DETECTOR = "retinaface_resnet50"
DEFAULT_CONFIDENCE = 0.9


@dataclass
class FaceReport:
    """What happened to one detected face (indices count faces left to right; bridged faces follow them).

    ``reason`` says why a face was not restored; ``model`` which model restored it (``model_choice.py``);
    ``mask`` which blend mask it got (``parsing``, ``parsing-bisenet`` or ``feather``); ``tone`` the photo's tone it was
    given (``colour``, ``grey`` or ``tinted``: ``tone.py``).
    Within a sequence (``restore_faces(..., tracks=...)``) ``track`` is the face's track id, ``landmarks`` the track's
    filtered ones, and ``bridged`` says the detector missed the face in this frame (its track predicted it).
    A restored face has its crop: ``crop_matrix`` (2x3, image pixels to crop pixels) and ``crop_size`` (px),
    so a caller can compare crops across frames or map points into the crop.
    """

    index: int
    box: tuple[float, float, float, float]
    score: float
    landmarks: list[tuple[float, float]]
    restored: bool = False
    reason: str = ""
    model: str = ""
    mask: str = ""
    tone: str = ""
    track: int | None = None
    bridged: bool = False
    crop_matrix: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    crop_size: int | None = None

    def to_dict(self) -> dict:
        """Plain JSON types, coordinates rounded to 0.1 px, the crop matrix to 7 significant digits.

        7 digits keep the crop's corners within 0.005 px of the exact matrix's (faces of 20-1000 px
        eye distance anywhere in an 8000 px image, crops of 512-2048; 6 digits: 0.05 px), so jitter of
        a tenth of a pixel can be measured from the JSON alone.
        """
        data = asdict(self)
        data["box"] = [round(v, 1) for v in self.box]
        data["score"] = round(self.score, 4)
        data["landmarks"] = [[round(x, 1), round(y, 1)] for x, y in self.landmarks]
        if self.crop_matrix is not None:
            data["crop_matrix"] = [[float(f"{v:.7g}") for v in row] for row in self.crop_matrix]
        return data


class StageTimer:
    """Adds the wall time of each pipeline stage into ``totals`` (if given): the benchmark reads it."""

    def __init__(self, totals: dict[str, float] | None):
        self.totals = totals

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        if self.totals is not None:
            self.totals[stage] = self.totals.get(stage, 0.0) + time.perf_counter() - start


def points(landmarks: np.ndarray) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in landmarks]


def face_report(index: int, detection: Detection, reason: str) -> FaceReport:
    box = tuple(float(v) for v in detection.box)
    return FaceReport(index, box, detection.score, points(detection.landmarks), reason=reason)  # type: ignore[arg-type]


def found_faces(
    image: np.ndarray, detector: FaceDetector, confidence: float, coarse_first: bool = True
) -> tuple[list[Detection], list[FaceReport]]:
    """The faces ``detector`` finds in ``image`` (colour view), left to right, and their reports, screened by plausibility.

    ``coarse_first``: as ``detect_faces``'s; a sequence's frames need False (one scale for all).
    """
    found = detect_faces(image, detector, confidence, coarse_first)
    found.sort(key=lambda detection: detection.box[0] + detection.box[2])
    return found, [face_report(index, *found_face) for index, found_face in enumerate(zip(found, screen_detections(found)))]


def tracked_reports(tracks: FaceTracks, image: np.ndarray, found: list[Detection], reports: list[FaceReport]) -> list[FaceReport]:
    """``reports`` with ``tracks``' view of this frame: track ids, filtered landmarks, and the bridged faces after them.

    Only faces that passed the screening are followed: a duplicate or implausible detection
    would start a track of its own, and bridge itself into the next frames.
    """
    kept = [report for report in reports if not report.reason]
    bridged = []
    for face in tracks.follow(image, [found[report.index] for report in kept]):
        if face.source is None:
            report = face_report(len(reports) + len(bridged), face.detection, "")
            report.bridged = True
            bridged.append(report)
        else:
            report = kept[face.source]
            report.landmarks = points(face.detection.landmarks)
        report.track = face.track
    return reports + bridged


def box_area(report: FaceReport) -> float:
    x0, y0, x1, y1 = report.box
    return (x1 - x0) * (y1 - y0)


def distance_to(report: FaceReport, point: tuple[float, float]) -> float:
    x0, y0, x1, y1 = report.box
    return float(np.hypot((x0 + x1) / 2 - point[0], (y0 + y1) / 2 - point[1]))


def select_faces(
    reports: list[FaceReport], faces: str | int, min_face_size: float, image_shape: tuple[int, ...]
) -> list[FaceReport]:
    """The reports of the faces to restore; every other report gets its reason (screened-out faces have theirs)."""
    for report in reports:
        x0, y0, x1, y1 = report.box
        if not report.reason and min(x1 - x0, y1 - y0) < min_face_size:
            report.reason = f"smaller than min_face_size ({min_face_size:g} px)"
    candidates = [report for report in reports if not report.reason]
    if faces == "largest" and candidates:
        candidates = [max(candidates, key=box_area)]
    elif faces == "center" and candidates:
        centre = (image_shape[1] / 2, image_shape[0] / 2)
        candidates = [min(candidates, key=lambda report: distance_to(report, centre))]
    elif not isinstance(faces, str):
        candidates = [report for report in candidates if report.index == faces]
    for report in reports:
        if report not in candidates and not report.reason:
            report.reason = f"not selected (faces={faces})"
    return candidates


def parser_dtype(model: object, device: torch.device) -> torch.dtype:
    """The precision of the face parser: bf16 where the model runs bf16 as this CPU's native (``auto``) precision, else fp32.

    ParseNet at 512 is 469 GFLOP, more than GPEN-2048 itself (411): on a CPU with AMX, bf16
    (channels-last) runs it in about a quarter of fp32's time. With random weights (no real ones
    were at hand), whose near-tied class scores make it a hard case, its labels equal fp32's on 98 %
    of the pixels (tested); that shows numerical closeness, not the real parser's quality. The parser
    follows the model's precision rather than deciding anew: where the model was asked for fp32 it
    stays fp32. It also stays fp32 where bf16 is forced but emulated (slower than fp32), and on
    GPUs and MPS, where ParseNet in reduced precision has not been tried.
    """
    dtype = getattr(model, "dtype", torch.float32)
    return dtype if dtype == torch.bfloat16 and auto_dtype(device) == torch.bfloat16 else torch.float32


def default_batch_size(size: int) -> int:
    """Faces per model call: several small crops share a call; a 1024/2048 crop fills one on its own."""
    return max(1, min(8, (1024 // size) ** 2))


def chunks(items: Sequence[FaceReport], size: int) -> Iterator[Sequence[FaceReport]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def model_range(pixels: torch.Tensor, scale: float) -> torch.Tensor:
    """Pixel values whose full intensity is ``scale`` as float32 in [-1, 1] (in place after the float conversion)."""
    return pixels.float().mul_(2 / scale).sub_(1)


@lru_cache(maxsize=2)
def level_table(dtype: torch.dtype = torch.float32) -> np.ndarray:
    """``model_range`` of each of the 256 8-bit levels, computed by it, so a table look-up is bit-identical.

    float32 values, or for bf16 their bf16 roundings as int16 bit patterns (OpenCV has no bf16
    type, torch < 2.3 no uint16 tensors).
    """
    levels = model_range(torch.arange(256), 255.0)
    return levels.to(torch.bfloat16).view(torch.int16).numpy() if dtype == torch.bfloat16 else levels.numpy()


def model_input(crops: list[np.ndarray], device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """SxSxC crops of any supported dtype as the model's (N, 3, S, S) RGB in [-1, 1] (memory in NHWC order).

    Converted on ``device`` in place, from the crops' own dtype: a 2048 crop is 50 MB in float,
    so 8-bit crops travel to a GPU as they are. On the CPU they are converted by one OpenCV table
    look-up (``level_table``) instead of torch's three passes: 2.5x faster at 2048, same values;
    straight to bf16 for a ``dtype`` bf16 model (what it would round them to first: 2 ms at 2048
    against 11 ms for float32 and 9 ms for the model's own cast). float32 otherwise.
    """
    pixels = np.stack(crops)
    if pixels.dtype == np.uint8 and device.type == "cpu":
        values = cv2.LUT(pixels.reshape(-1, pixels.shape[2] * pixels.shape[3]), level_table(dtype))
        batch = torch.from_numpy(values.reshape(pixels.shape))
        batch = (batch.view(torch.bfloat16) if dtype == torch.bfloat16 else batch).permute(0, 3, 1, 2)
    else:
        if pixels.dtype == np.uint16:  # torch < 2.3 (A1111 1.10 ships 2.1) has no uint16 tensors
            pixels = pixels.astype(np.int32)
        batch = model_range(torch.from_numpy(pixels).to(device).permute(0, 3, 1, 2), unit_scale(crops[0].dtype))
    return batch.expand(-1, 3, -1, -1) if batch.shape[1] == 1 else batch


def model_output(restored: torch.Tensor, like: np.ndarray) -> np.ndarray:
    """The model's (N, 3, S, S) output as (N, S, S, C) pixels of ``like``'s dtype and channel count, on the CPU.

    Converted in torch where the model ran (all cores), so the paste-back warps and blends pixels
    of the image's own type (a quarter of the float data for 8-bit images), as GPEN pastes uint8.
    ``restored`` itself is left as it is: the face parser reads it next.

    8-bit colour on the CPU takes one OpenCV pass per face (per plane if the memory is NCHW:
    ``images.map_images``),
    ``saturate_cast(x * 127.5 + 127.5)`` (clamp and rounding included), instead of torch's five
    passes: 6x faster at 2048. It rounds
    x * 127.5 + 127.5 where torch rounds (x + 1) * 127.5, a float32 ulp apart, so a value within
    that of a half level comes out 1 level off (35 of the 12.6 M of a 2048 face).
    """
    if like.dtype == np.uint8 and like.shape[2] == 3 and restored.device.type == "cpu":
        def saturate(image: np.ndarray, result: np.ndarray) -> None:
            cv2.addWeighted(image, 127.5, image, 0.0, 127.5, dst=result, dtype=cv2.CV_8U)

        return map_images(restored.float(), saturate, restored.shape[-1], np.uint8)
    scale = unit_scale(like.dtype)
    faces = restored.permute(0, 2, 3, 1).clamp(-1, 1).add_(1).mul_(scale / 2)
    if like.shape[2] == 1:
        faces = faces @ torch.from_numpy(LUMA_WEIGHTS).to(faces.device).unsqueeze(1)
    if scale != 1.0:
        faces = faces.round_()
    return faces.cpu().numpy().astype(like.dtype)


def restore_faces(
    image: np.ndarray,
    model: Model | ModelChoice,
    *,
    detector: str | FaceDetector = DEFAULT_DETECTOR,
    weights_dir: str | os.PathLike | None = None,
    faces: str | int = "all",
    min_face_size: float = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    visibility: float = 1.0,
    mask: str = "auto",
    color_correction: str = "on",
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    allow_download: bool = True,
    timings: dict[str, float] | None = None,
    tracks: FaceTracks | None = None,
    planned: list[FaceReport] | None = None,
    sequence_frame: bool = False,
) -> tuple[np.ndarray, list[FaceReport]]:
    """Restore the faces of ``image`` with ``model``; returns a new image of the same shape and dtype, and a report per face.

    ``image``: HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA); uint8, uint16 or float32 in [0, 1].
    ``model``: one model for every face, or a ``ModelChoice`` giving each face the smallest of
    several that keeps its detail (faces are batched per model, smallest model first).
    Alpha and every pixel outside the pasted faces come back bit-identical; without a face
    to restore the result is an exact copy. ``allow_download`` lets facexlib weights missing
    from ``weights_dir`` be fetched; ``timings`` (if given) receives seconds per stage.
    ``color_correction`` ``on`` gives each restored face the original face's low-frequency colour
    (``color_match.py``); whatever it says, a grey or toned photo's faces take the photo's tone (``tone.py``).
    ``should_stop`` (e.g. a WebUI's Interrupt button) is asked before each batch of faces: once it
    says yes, the faces already pasted stay and the others keep their pixels, reason ``STOPPED``.
    ``tracks``: for the frames of a sequence, one ``FaceTracks`` given every frame in order: faces are followed
    over frames and their landmarks filtered, so a still face gets a still crop and does not shimmer, and a
    face the detector misses for a frame or two is restored where its track predicts it (``tracking.py``).
    ``planned``: this frame's faces as the two-pass smoother planned them (``face_plan.py``: found, screened, tracked
    and smoothed in a first pass over the whole sequence), restored as they are, without detecting again; the reports
    returned are these, filled in.
    ``sequence_frame``: the image is a frame of a sequence restored without tracks (temporal smoothing off), so it is
    detected at GPEN's scale as every frame is (``detection.detect_faces``'s ``coarse_first``): a face near the coarse
    look's threshold would otherwise switch scales from frame to frame, and the coarse landmarks jitter more.
    Expected failures (bad image or option, missing detector) raise a GPENError.
    """
    image = validate_image(image)
    checked = check_options(faces=faces, min_face_size=min_face_size, confidence=confidence, visibility=visibility,
                            mask=mask, color_correction=color_correction)
    faces, mask, color_correction = checked["faces"], checked["mask"], checked["color_correction"]
    if planned is not None and tracks is not None:
        raise ValueError("give restore_faces either tracks or planned faces, not both")
    choice = ModelChoice.of(model)
    timer = StageTimer(timings)
    if planned is not None:
        reports = planned
    else:
        with timer("detection"):
            found, reports = found_faces(color_view(image), get_detector(detector, weights_dir, choice.device, allow_download),
                                         confidence, coarse_first=tracks is None and not sequence_frame)
            if tracks is not None:
                reports = tracked_reports(tracks, color_view(image), found, reports)
    chosen = select_faces(reports, faces, min_face_size, image.shape)
    output = image.copy()
    if not chosen or visibility == 0:
        return output, reports
    with timer("mask"):
        parser = get_parser(mask, weights_dir, choice.device, allow_download, parser_dtype(choice, choice.device))
    look = FaceLook(photo_tone(color_view(image)), color_correction == "on")
    pasted = PastedWeights()
    batches = [
        (size, batch)
        for size, group in faces_by_size(chosen, choice)
        for batch in chunks(group, batch_size or default_batch_size(size))
    ]
    done = 0
    for size, batch in batches:
        if should_stop is not None and should_stop():
            for report in chosen:
                report.reason = "" if report.restored else STOPPED
            break
        restore_batch(image, output, batch, choice.model(size), parser, visibility, timer, pasted, look, choice.sizes[-1])
        for report in batch:
            report.restored = True
            report.model = choice.names[size]
            report.mask = "feather" if parser is None else parser.kind.mask
            report.tone = look.tone.kind
            done += 1
            if progress is not None:
                progress(done, len(chosen))
    return output, reports


def restore_frames(
    frames: Sequence[np.ndarray] | Callable[[], Iterable[np.ndarray]] | Iterable[np.ndarray],
    model: Model | ModelChoice,
    **options: object,
) -> Iterator[tuple[np.ndarray, list[FaceReport]]]:
    """``restore_faces`` of each frame of one sequence, in order, the faces followed across them.

    Frames that can be read twice, a ``Sequence`` of them or a callable that opens them again (each
    call an iterable of the same frames), get the two-pass smoother (``face_plan.py``): every frame's
    faces found and smoothed with no lag first, then the frames restored, a still face's crops
    bit-identical. A one-shot iterator (a generator, a live stream) gets the causal ``FaceTracks``
    (``tracking.py``): lazy, each frame restored as it is read, at a little lag and more jitter.
    ``options`` are ``restore_faces``'s.
    """
    if not (isinstance(frames, Sequence) or callable(frames)):
        tracks = FaceTracks()
        for frame in frames:
            yield restore_faces(frame, model, tracks=tracks, **options)  # type: ignore[arg-type]
        return
    from .face_plan import plan_faces  # noqa: PLC0415 (pass 1 builds on this module)

    opened = frames if callable(frames) else lambda: frames
    choice = ModelChoice.of(model)
    checked = check_options(**{name: value for name, value in options.items() if name in PIPELINE_VALUES})  # before pass 1
    detector = get_detector(options.get("detector", DEFAULT_DETECTOR), options.get("weights_dir"),  # type: ignore[arg-type]
                            choice.device, bool(options.get("allow_download", True)))
    plan = plan_faces(opened(), detector, float(checked.get("confidence", DEFAULT_CONFIDENCE))).plan()  # type: ignore[arg-type]
    for frame, planned in zip(opened(), plan):
        yield restore_faces(frame, model, planned=planned, **options)  # type: ignore[arg-type]


def faces_by_size(chosen: list[FaceReport], choice: ModelChoice) -> list[tuple[int, list[FaceReport]]]:
    """The chosen faces grouped by the model size each gets, smallest first (faces in index order within a group)."""
    sizes = [choice.size_for(np.array(report.landmarks)) for report in chosen]
    return [(size, [r for r, s in zip(chosen, sizes) if s == size]) for size in sorted(set(sizes))]


def check_finite(restored: torch.Tensor, model: object) -> torch.Tensor:
    """``restored`` if every value is a number: a reduced-precision overflow must not reach the image.

    Read from the smallest and largest value (NaN and inf reach one of them): one reduction, 10x
    cheaper than ``isfinite(...).all()``, which writes a mask as large as the image first.
    """
    low, high = torch.aminmax(restored)
    if not (torch.isfinite(low) and torch.isfinite(high)):
        precision = getattr(model, "dtype", "its precision")
        raise NonFiniteOutput(f"the face model produced invalid values (NaN/inf) in {precision}; use precision fp32")
    return restored


@dataclass(frozen=True)
class FaceLook:
    """How a restored face is made to belong to its photo before it is pasted: the photo's tone, and colour correction."""

    tone: PhotoTone
    color_correction: bool

    def apply(self, face: np.ndarray, original: np.ndarray) -> np.ndarray:
        """The restored ``face`` (S x S x C) given the colour of its aligned ``original`` crop and the photo's tone."""
        if self.color_correction:
            face = match_color(face, original)
        return self.tone.apply(face)


def restore_batch(
    image: np.ndarray,
    output: np.ndarray,
    batch: Sequence[FaceReport],
    model: Callable[[torch.Tensor], torch.Tensor],
    parser: FaceParser | None,
    visibility: float,
    timer: StageTimer,
    pasted: PastedWeights,
    look: FaceLook,
    largest_size: int,
) -> None:
    """Align, restore, mask and paste one batch of faces (crops come from ``image``, pastes go to ``output``).

    Small faces are softened as the ``largest_size`` model's crops are (``blending.soften_small_face``): a face
    that a per-face choice gave a smaller model is pasted as the largest model would have pasted it.
    """
    size = model.size  # type: ignore[attr-defined]
    with timer("alignment"):
        alignments = [FaceAlignment.from_landmarks(np.array(report.landmarks), size) for report in batch]
        crops = [alignment.crop(color_view(image)) for alignment in alignments]
        inputs = model_input(crops, model_device(model), getattr(model, "dtype", torch.float32))
    with timer("model"):
        with torch.inference_mode():
            restored = check_finite(model(inputs), model)
            faces = model_output(restored, color_view(image))
    with timer("mask"):
        landmarks = [(alignment.to_crop(np.array(r.landmarks)) + 0.5) * (MASK_SIZE / size) - 0.5 for r, alignment in zip(batch, alignments)]
        scales = [affine_scale(alignment.inverse) * size / MASK_SIZE for alignment in alignments]
        masks = face_masks(parser, restored, landmarks, scales)
    with timer("paste"):
        for report, face, crop, mask, alignment in zip(batch, faces, crops, masks, alignments):
            report.crop_matrix = tuple(tuple(float(v) for v in row) for row in alignment.matrix)  # type: ignore[assignment]
            report.crop_size = alignment.size
            face = soften_small_face(look.apply(face, crop), report.box, largest_size)
            paste_face(color_view(output), color_view(image), face, mask, alignment, visibility, pasted)
