"""``python -m gpen_ext restore``: restore the faces in image files or folders from the command line.

Everything that does not depend on an image (options, inputs, output folder, model, detector)
is checked before the first image: a problem there is one message and exit status 2. Then each
image is independent: a bad file is reported in one line and skipped, the others are still
done, and the exit status says whether every image succeeded (0) or some failed (1). An image
where no face was restored is copied byte for byte; a restored one keeps the input's metadata.

A video file (``video.VIDEO_EXTENSIONS``) is restored frame by frame into a video of the same
frames, timing, orientation and other streams (``gpen_ext.video``), its faces followed from frame
to frame (``--temporal-smoothing``); ``--sequence`` does the same for the image inputs, in order.
Smoothed, both are read twice: the faces of every frame are found and smoothed first
(``faces/face_plan.py``: no lag, still faces held to the bit), then the frames restored.

``python -m gpen_ext export`` writes a checkpoint as ONNX (see ``model/onnx/export``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .allocator import keep_freed_memory, release_freed_memory
from .faces.manifests import expand_manifests, is_uri, source_name
from .errors import GPENError
from .faces.color_match import COLOR_CORRECTION_CHOICES
from .faces.detection import DETECTOR_NAMES, FaceDetector, get_detector
from .faces.image_files import IMAGE_EXTENSIONS, list_images, read_image, write_image
from .faces.image_metadata import ImageInfo
from .faces.masks import MASK_MODES, get_parser
from .faces.option_checks import FACE_CHOICES, check_options
from .faces.model_choice import Model, ModelChoice, model_device
from .faces.pipeline import FaceReport, faces_by_size, model_output, parser_dtype, restore_faces
from .faces.temporal_smoothing import TEMPORAL_SMOOTHING_CHOICES, smoothing_applies
from .faces.face_plan import FacePlanner, plan_faces
from .model.download import DownloadSource, default_models_dir, downloaded_digest, mirror_url, model_digest, model_file
from .model.arch.precision import resolve_dtype
from .model.checkpoint import find_checkpoints
from .model.loading import DTYPE_NAMES, load_model, parse_device, parse_dtype
from .model.onnx import export_onnx
from .video import VIDEO_EXTENSIONS, VideoInfo, is_video, iter_frames, restore_video

MEDIA_EXTENSIONS = tuple(dict.fromkeys((*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS)))
"""What a folder given as input is searched for: images and videos."""
RGB8 = np.zeros((1, 1, 3), np.uint8)
"""The pixel type --save-faces writes the model's faces in."""


def face_choice(value: str) -> str | int:
    """``--faces``: all, largest, center, or a face index (faces are numbered left to right from 0)."""
    if value in FACE_CHOICES:
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected all, largest, center or a face index, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gpen_ext", description="GPEN blind face restoration")
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", help="restore the faces in images (files or folders)")
    restore.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="image or video files, folders of them, or .txt/.csv manifests of their paths",
    )
    restore.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="folder for the results")
    restore.add_argument(
        "--model",
        help="GPEN-BFR model file (.pth / .safetensors / .onnx), a folder of them (each face gets the smallest that "
        "keeps its detail), or an official name (GPEN-BFR-256/512/1024/2048) downloaded into --models-dir on first "
        "use (default: GPEN-BFR-2048)",
    )
    restore.add_argument(
        "--models-dir", type=Path, help="folder of the official models (default: $GPEN_MODELS_DIR or ~/.cache/gpen)"
    )
    restore.add_argument("--detector", default="retinaface_resnet50", choices=DETECTOR_NAMES)
    restore.add_argument("--weights-dir", type=Path, help="folder of facexlib's detection/parsing weights")
    restore.add_argument(
        "--no-download", action="store_true", help="never download: neither a missing GPEN model nor facexlib's weights"
    )
    restore.add_argument("--faces", default="all", type=face_choice, help="all, largest, center or an index")
    restore.add_argument("--min-face-size", type=float, default=0, help="skip faces smaller than this (px)")
    restore.add_argument("--confidence", type=float, default=0.9, help="detection score threshold")
    restore.add_argument("--visibility", type=float, default=1.0, help="0 = original face, 1 = fully restored")
    restore.add_argument("--mask", default="auto", choices=MASK_MODES)
    restore.add_argument(
        "--color-correction", default="on", choices=COLOR_CORRECTION_CHOICES,
        help="on: each restored face keeps the original face's colour (low frequencies), the model's detail",
    )
    restore.add_argument(
        "--temporal-smoothing", default="auto", choices=TEMPORAL_SMOOTHING_CHOICES,
        help="follow faces from frame to frame so that they do not shimmer (auto: on for videos and --sequence)",
    )
    restore.add_argument(
        "--sequence", action="store_true", help="the image inputs are the frames of one sequence, in the order given",
    )
    restore.add_argument("--batch-size", type=int, help="faces per model call (default: by model size)")
    restore.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ...")
    restore.add_argument("--dtype", default="auto", choices=list(DTYPE_NAMES), help="compute precision")
    restore.add_argument("--quality", type=int, help="JPEG/WebP quality 1-100 (default: a JPEG keeps the input's quality)")
    restore.add_argument("--report", type=Path, help="write a JSON report of the faces found and restored")
    restore.add_argument(
        "--save-faces",
        action="store_true",
        help="also save each face as the model produced it (aligned, model size, before it is blended "
        "back into the image) in OUTDIR/faces",
    )
    restore.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="run as a Ray Data pipeline: 'local' (the default) starts Ray on this machine, 'auto' or "
        "ray://HOST:PORT joins a cluster (needs pip install \".[cluster]\"); resumes into OUTDIR",
    )
    export = commands.add_parser("export", help="write a GPEN-BFR checkpoint as ONNX (facefusion's I/O convention)")
    export.add_argument("checkpoint", type=Path, help="GPEN-BFR checkpoint (.pth / .pt / .safetensors)")
    export.add_argument("-o", "--output", required=True, type=Path, help="the .onnx file to write")
    export.add_argument("--fp16", action="store_true", help="convolutions in fp16 (for GPUs); input and output stay float32")
    return parser


class KeepFaces:
    """The models of a choice, keeping every face they produce (before the paste blends it in) for ``--save-faces``."""

    def __init__(self, choice: ModelChoice) -> None:
        self.faces: list[np.ndarray] = []
        self.choice = replace(choice, load=lambda name: self.keeping(choice.load(name)))

    def keeping(self, model: Model) -> Model:
        """``model``, with each face it makes appended to ``faces`` (the model's size and placement kept)."""
        def restore(batch: torch.Tensor) -> torch.Tensor:
            restored = model(batch)
            self.faces += list(model_output(restored, RGB8))
            return restored

        restore.size = model.size  # type: ignore[attr-defined]
        restore.device, restore.dtype = model_device(model), getattr(model, "dtype", torch.float32)  # type: ignore[attr-defined]
        return restore

    def save(self, reports: list[FaceReport], folder: Path, stem: str) -> None:
        """Each restored face as ``<stem>_face<index>.png`` (faces are restored in ``faces_by_size`` order)."""
        folder.mkdir(parents=True, exist_ok=True)
        restored = [r for r in reports if r.restored]
        in_order = [report for _, group in faces_by_size(restored, self.choice) for report in group]
        for report, face in zip(in_order, self.faces):
            write_image(folder / f"{stem}_face{report.index}.png", face)


def output_path(path: Path | str, folder: Path, written: set[Path]) -> Path:
    """Where ``path``'s (or a URI's) result goes; a GPENError rather than overwriting an input or an earlier result."""
    target = (folder / source_name(path)).resolve()
    if not is_uri(path) and target == Path(path).resolve():
        raise GPENError("the result would overwrite the input; choose another output folder (-o)")
    if target in written:
        raise GPENError(f"an earlier input of the same name was already written to {target}; restore them separately")
    return target


def pipeline_options(args: argparse.Namespace) -> dict:
    """The ``restore_faces`` keyword arguments that the command's options set (the Ray stages pass the same)."""
    return {
        "weights_dir": args.weights_dir, "faces": args.faces, "min_face_size": args.min_face_size,
        "confidence": args.confidence, "visibility": args.visibility, "mask": args.mask,
        "color_correction": args.color_correction, "batch_size": args.batch_size, "allow_download": not args.no_download,
    }


def restore_image(
    image: np.ndarray, models: ModelChoice, detector: FaceDetector, args: argparse.Namespace, stem: str,
    planned: list[FaceReport] | None = None, progress: Callable[[int, int], None] | None = None,
    sequence_frame: bool = False,
) -> tuple[np.ndarray, list[FaceReport]]:
    """``restore_faces`` with the command's options (``planned``: a sequence's faces from pass 1, ``face_plan.py``;
    ``sequence_frame``: a frame of a video or ``--sequence``); with ``--save-faces`` the model's faces saved as
    ``<stem>_face<i>.png``."""
    keeper = KeepFaces(models) if args.save_faces else None
    result, reports = restore_faces(
        image, keeper.choice if keeper else models, detector=detector, progress=progress, planned=planned,
        sequence_frame=sequence_frame, **pipeline_options(args),
    )
    if keeper is not None:
        keeper.save(reports, args.output / "faces", stem)
    return result, reports


def restore_file(
    path: Path, models: ModelChoice, detector: FaceDetector, args: argparse.Namespace, bar: tqdm, written: set[Path],
    planned: list[FaceReport] | None = None,
) -> dict:
    """Restore one image file into ``args.output`` (``planned``: its faces from a sequence's pass 1); its entry of the
    JSON report."""
    target = output_path(path, args.output, written)
    info = ImageInfo.read(path)
    image = read_image(path, info)

    def progress(done: int, total: int) -> None:
        bar.set_postfix_str(f"{path.name}: face {done}/{total}")

    result, reports = restore_image(image, models, detector, args, path.stem, planned, progress, args.sequence)
    if any(report.restored for report in reports):
        write_image(target, result, info, args.quality)
    else:
        shutil.copyfile(path, target)  # nothing restored: the input exactly, not a re-encoded copy
    written.add(target)
    return {"input": str(path), "output": str(target), "faces": [r.to_dict() for r in reports]}


def restore_video_file(
    path: Path, models: ModelChoice, detector: FaceDetector, args: argparse.Namespace, written: set[Path]
) -> dict:
    """Restore one video file into ``args.output``, frame by frame; its entry of the JSON report (faces per frame).

    With temporal smoothing, in two passes (``face_plan.py``): the faces of every frame found and
    smoothed first, then the frames restored; a clip where pass 1 finds no face is copied at once.
    """
    target = output_path(path, args.output, written)
    frames: list[dict] = []
    plan: list[list[FaceReport]] | None = None
    with tqdm(desc=path.name, unit="frame", leave=False, file=sys.stderr) as bar:
        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        if smoothing_applies(args.temporal_smoothing, sequence=True):
            total = VideoInfo.read(path).frames
            bar.set_description(f"{path.name} (pass 1/2: faces)")
            planner = plan_faces(iter_frames(path), detector, args.confidence, lambda done: progress(done, total))
            if planner.faceless:
                copy_atomically(path, target)
                written.add(target)
                return {"input": str(path), "output": str(target),
                        "frames": [{"frame": index, "faces": [r.to_dict() for r in reports]}
                                   for index, reports in enumerate(planner.frames)]}
            plan = planner.plan()
            bar.set_description(f"{path.name} (pass 2/2: restoring)")
            bar.reset()

        def restore_frame(frame: np.ndarray, index: int) -> np.ndarray:
            planned = None if plan is None else planned_frame(plan, index, path)
            result, reports = restore_image(frame, models, detector, args, f"{path.stem}_frame{index:06d}", planned,
                                            sequence_frame=True)
            frames.append({"frame": index, "faces": [report.to_dict() for report in reports]})
            return result

        restore_video(path, target, restore_frame, progress)
    if not any(face["restored"] for frame in frames for face in frame["faces"]):
        copy_atomically(path, target)  # nothing restored: the input exactly, not a re-encoded copy
    written.add(target)
    return {"input": str(path), "output": str(target), "frames": frames}


def planned_frame(plan: list[list[FaceReport]], index: int, path: Path) -> list[FaceReport]:
    """Frame ``index``'s planned faces; a GPENError where the second decoding gives more frames than the first."""
    if index >= len(plan):
        raise GPENError(f"{path}: decoded {len(plan)} frames for pass 1 and more for pass 2")
    return plan[index]


def plan_sequence(paths: list[Path], detector: FaceDetector, args: argparse.Namespace,
                  failures: dict[Path, str]) -> dict[Path, list[FaceReport]]:
    """Pass 1 over the image frames of a sequence (``face_plan.py``): each readable file's planned faces.

    A file that cannot be read goes into ``failures`` with its reason and leaves the sequence.
    """
    planner = FacePlanner(detector, args.confidence)
    planned_paths = []
    for path in tqdm(paths, desc="pass 1/2: faces", unit="frame", leave=False, file=sys.stderr):
        try:
            image = read_image(path, ImageInfo.read(path))
        except Exception as error:  # noqa: BLE001 - one bad frame must not stop the sequence
            failures[path] = failure_reason(error)
            continue
        planner.add(image)
        planned_paths.append(path)
    return dict(zip(planned_paths, planner.plan()))


def copy_atomically(source: Path, target: Path) -> None:
    """``source``'s bytes at ``target``, which only ever holds the old file or the whole copy."""
    part = target.with_name(f".{target.name}.copy")
    try:
        shutil.copyfile(source, part)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def check_arguments(args: argparse.Namespace) -> list[Path | str]:
    """Every check that needs no image, before the model loads; the files to restore (URIs only under ``--ray``)."""
    check_options(faces=args.faces, min_face_size=args.min_face_size, confidence=args.confidence, visibility=args.visibility)
    if args.batch_size is not None and args.batch_size < 1:
        raise GPENError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.quality is not None and not 1 <= args.quality <= 100:
        raise GPENError(f"--quality must be between 1 and 100, got {args.quality}")
    if args.output.exists() and not args.output.is_dir():
        raise GPENError(f"-o {args.output} is a file; give a folder for the results")
    inputs = expand_manifests(args.inputs)
    uris = [item for item in inputs if is_uri(item)]
    if uris and args.ray is None:
        raise GPENError(f"{uris[0]}: inputs on object stores are read by --ray (through pyarrow); without it, give files")
    local = [item for item in inputs if not is_uri(item)]
    paths: list[Path | str] = [*(list_images(local, MEDIA_EXTENSIONS) if local else []), *uris]
    if args.sequence and any(is_video(path) for path in paths):
        raise GPENError("--sequence is for image frames; a video is a sequence of its own: restore it without --sequence")
    return paths


def model_entries(path: Path, report: bool) -> dict:
    """The report's model fields: the file and, when a report is asked for or the file was downloaded here,
    its sha256 and the one recorded at download (a file changed since then is also warned about)."""
    digest = (model_digest(path) if report else downloaded_digest(path)) if path.is_file() else None
    if digest is None:
        return {"model": str(path)}
    if digest.changed:
        tqdm.write(f"gpen: warning: {digest.warning(path)}", file=sys.stderr)
    return {"model": str(path), "model_sha256": digest.sha256, "model_sha256_recorded": digest.recorded}


def load_models(args: argparse.Namespace) -> tuple[ModelChoice, dict]:
    """The models ``--model`` names (a file, an official name, or a folder of files to choose from per face) and
    the report's model fields; an official model missing from ``--models-dir`` is downloaded first."""
    folder = Path(args.model) if args.model else None
    if folder is None or not folder.is_dir():
        source = DownloadSource(allowed=not args.no_download, mirror=mirror_url())
        path = model_file(args.model, args.models_dir or default_models_dir(), source)
        fields = model_entries(path, report=args.report is not None)
        return ModelChoice.single(load_model(path, device=args.device, dtype=args.dtype), path.stem), fields
    files = {path.name: path for path in find_checkpoints(folder)}
    if not files:
        raise GPENError(f"--model {folder} is a folder without GPEN model files (.pth, .safetensors, .onnx)")
    device = parse_device(args.device)
    loaded: dict[Path, Model] = {}

    def load(path: Path) -> Model:
        if path not in loaded:  # each model once, on first use; at most the folder's few sizes are held
            loaded[path] = load_model(path, device=device, dtype=args.dtype)
        return loaded[path]

    choice = ModelChoice.from_files(files, load, device, resolve_dtype(device, parse_dtype(args.dtype)))
    models = {choice.names[size]: model_entries(files[choice.names[size]], args.report is not None) for size in choice.sizes}
    return choice, {"model": str(folder), "models": models}


def prepare(args: argparse.Namespace) -> tuple[list[Path | str], ModelChoice, FaceDetector, dict]:
    """The images, the models, the detector and the report's model fields, or the GPENError/OSError that
    stops the command before any image.

    A missing official model (``--model`` left out or an official name), the detector and the face
    parser that ``--mask parsing`` needs are fetched here once: offline, a missing file is one
    message instead of one failed download per image.
    """
    paths = check_arguments(args)
    models, model_fields = load_models(args)
    allow_download = not args.no_download
    detector = get_detector(args.detector, args.weights_dir, models.device, allow_download)
    get_parser(args.mask, args.weights_dir, models.device, allow_download, parser_dtype(models, models.device))
    release_freed_memory()  # the checkpoint's load-time temporaries
    args.output.mkdir(parents=True, exist_ok=True)
    return paths, models, detector, model_fields


def failure_reason(error: Exception) -> str:
    """The one-line reason an image failed: an expected failure's own message, else the error's type too."""
    return str(error) if isinstance(error, (GPENError, OSError)) else f"unexpected {type(error).__name__}: {error}"


def run_restore(args: argparse.Namespace) -> int:
    """The ``restore`` command; the exit status."""
    if args.ray is not None:
        from .cluster.pipeline import run_cluster  # noqa: PLC0415 (Ray is imported only when asked for)

        return run_cluster(args)
    try:
        paths, models, detector, model_fields = prepare(args)
    except (GPENError, OSError) as error:
        print(f"gpen: error: {error}", file=sys.stderr)
        return 2
    entries, failed, written, interrupted = [], 0, set(), False
    smoothing = smoothing_applies(args.temporal_smoothing, sequence=args.sequence)
    plans: dict[Path, list[FaceReport]] = {}
    unread: dict[Path, str] = {}
    try:
        if smoothing:
            plans = plan_sequence([path for path in paths if not is_video(path)], detector, args, unread)
        with tqdm(paths, desc="pass 2/2: restoring" if plans else None, unit="file", file=sys.stderr) as bar:
            for path in bar:
                try:
                    if path in unread:
                        raise GPENError(unread[path])
                    if is_video(path):
                        entries.append(restore_video_file(path, models, detector, args, written))
                    else:
                        entries.append(restore_file(path, models, detector, args, bar, written, plans.get(path)))
                except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch or lose the report
                    failed += 1
                    reason = failure_reason(error)
                    tqdm.write(f"gpen: {path}: {reason}", file=sys.stderr)
                    entries.append({"input": str(path), "error": reason})
    except KeyboardInterrupt:  # what was finished stays; the file in progress left nothing under its name
        print("gpen: interrupted", file=sys.stderr)
        interrupted = True
    if args.report:
        args.report.write_text(json.dumps({**model_fields, "images": entries}, indent=2))
    return 130 if interrupted else 1 if failed else 0


def run_export(args: argparse.Namespace) -> int:
    """The ``export`` command; the exit status."""
    try:
        result = export_onnx(args.checkpoint, args.output, fp16=args.fp16)
    except (GPENError, OSError) as error:
        print(f"gpen: error: {error}", file=sys.stderr)
        return 2
    precision = str(result.dtype).removeprefix("torch.")
    print(f"wrote {result.path} (GPEN-BFR-{result.size}, {precision}, {result.file_bytes / 2**20:.0f} MiB) "
          f"in {result.seconds:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # this process exists to run GPEN: reuse big buffers instead of re-faulting them
    return run_export(args) if args.command == "export" else run_restore(args)
