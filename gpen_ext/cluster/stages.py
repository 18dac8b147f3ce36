"""The three stages of ``gpen restore --ray``, as plain functions of one row (one input image).

``find_faces`` (CPU task): decode, detect, select, align; the aligned crops in the model's
batches. ``ModelStage`` (actor): the model, loaded once per actor, run on those batches.
``paste_faces`` (CPU task): masks, paste, and the output written atomically, with its
provenance record. A failure in any stage becomes the row's ``error`` and later stages pass
it on: one bad file never stops the run. Rows carry their payload pickled in ``work`` so
that Ray Data moves any Python value (crops, detections, tensors) without Arrow conversions.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..cli import failure_reason, pipeline_options, restore_file
from ..faces.alignment import FaceAlignment
from ..faces.detection import get_detector
from ..faces.image_files import read_image
from ..faces.image_metadata import ImageInfo
from ..faces.images import color_view
from ..faces.model_choice import ModelChoice
from ..faces.pipeline import check_finite, chunks, default_batch_size, model_device, model_input, restore_faces
from ..model.loading import load_model
from .provenance import done_record, failed_record
from .remote import local_copy
from .replay import DetectorCall, RecordingDetector, ReplayDetector, ReplayModel


@dataclass
class Work:
    """What one image carries between the stages."""

    detections: list[DetectorCall] = field(default_factory=list)
    batches: list[list[np.ndarray]] = field(default_factory=list)
    restored: list[torch.Tensor] = field(default_factory=list)
    dtype: torch.dtype = torch.float32


def find_faces(row: dict, args: argparse.Namespace, size: int) -> dict:
    """Decode, detect and align one image: its crops, batched as ``restore_faces`` batches them."""
    try:
        with local_copy(row["input"]) as path:
            image = read_image(path, ImageInfo.read(path))
        recorder = RecordingDetector(get_detector(args.detector, args.weights_dir, "cpu", not args.no_download))
        # visibility 0 makes restore_faces stop once the faces are chosen: detection and selection only
        _, reports = restore_faces(image, ReplayModel(size), detector=recorder, **{**pipeline_options(args), "visibility": 0.0})
    except Exception as error:  # noqa: BLE001 - recorded for this file, the run goes on
        return {**row, "error": failure_reason(error)}
    chosen = [report for report in reports if not report.reason] if args.visibility else []
    batches = [
        [FaceAlignment.from_landmarks(np.array(report.landmarks), size).crop(color_view(image)) for report in batch]
        for batch in chunks(chosen, args.batch_size or default_batch_size(size))
    ]
    return {**row, "work": pickle.dumps(Work(recorder.calls, batches))}


class ModelStage:
    """The face model in a Ray actor: one load per actor, then every batch of faces it is given."""

    def __init__(self, model_path: str, device: str, dtype: str) -> None:
        self.model = load_model(model_path, device=device, dtype=dtype)

    def __call__(self, row: dict) -> dict:
        if row["error"]:
            return row
        work: Work = pickle.loads(row["work"])
        try:
            work.restored = [self.restore(crops) for crops in work.batches]
        except Exception as error:  # noqa: BLE001 - e.g. a NaN output: this image fails, the actor goes on
            return {**row, "error": failure_reason(error), "work": b""}
        work.batches, work.dtype = [], getattr(self.model, "dtype", torch.float32)
        return {**row, "work": pickle.dumps(work)}

    def restore(self, crops: list[np.ndarray]) -> torch.Tensor:
        """The model's output for one batch of crops, on the CPU, as ``restore_batch`` would get it."""
        model = self.model
        with torch.inference_mode():
            inputs = model_input(crops, model_device(model), getattr(model, "dtype", torch.float32))
            return check_finite(model(inputs), model).cpu()


def paste_faces(row: dict, args: argparse.Namespace, size: int, model: dict, options: dict) -> dict:
    """Paste the restored faces into the image and write it: the row becomes its provenance record (a JSON line)."""
    if row["error"]:
        return {"record": json.dumps(failed_record(row["input"], row["error"], model, options))}
    target = Path(row["target"])
    work: Work = pickle.loads(row["work"])
    partial = target.parent / f".gpen-partial-{uuid.uuid4().hex}"
    try:
        partial.mkdir()
        with local_copy(row["input"]) as path:
            entry = restore_file(
                path, ModelChoice.single(ReplayModel(size, work.dtype, work.restored), Path(model["model"]).stem),
                ReplayDetector(work.detections),
                argparse.Namespace(**{**vars(args), "output": partial}), tqdm(disable=True), set(),
            )
        entry["input"] = row["input"]  # the input as named, not a task's temporary copy of it
        publish(partial, target, args.output)
        return {"record": json.dumps(done_record(entry, target, model, options))}
    except Exception as error:  # noqa: BLE001 - recorded for this file, the run goes on
        return {"record": json.dumps(failed_record(row["input"], failure_reason(error), model, options))}
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def publish(partial: Path, target: Path, output: Path) -> None:
    """Moves a finished result (and its saved faces) from ``partial`` into place, each by one atomic rename.

    A task killed before this leaves only its partial folder, never a half-written output; the
    image goes last, so an output in place means its faces are too.
    """
    faces = partial / "faces"
    if faces.is_dir():
        (output / "faces").mkdir(exist_ok=True)
        for face in faces.iterdir():
            os.replace(face, output / "faces" / face.name)
    os.replace(partial / target.name, target)
