"""``gpen restore --ray [ADDRESS]``: the plain CLI's restoration as a streaming Ray Data pipeline.

Decode/detect/align and mask/paste/write run as CPU tasks; the model runs in an actor pool
(one model load per actor; one GPU per actor on CUDA, one CPU otherwise). Ray Data streams the
images through the stages with backpressure, so memory stays bounded whatever the archive
size, and retries the tasks of a worker or actor that dies (outputs are renamed into place,
so a retried image is written once, whole). The driver alone writes the provenance file.
This is the only module that imports Ray.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..cli import output_path, prepare
from ..errors import GPENError
from ..model.download import file_sha256
from ..video import is_video
from ..faces.manifests import is_uri
from .provenance import PROVENANCE_NAME, Provenance, failed_record, run_options
from .remote import list_uris
from .stages import ModelStage, find_faces, paste_faces

LOCAL = "local"
CPUS_PER_MODEL_ACTOR = 4
"""On CPU-only clusters, one model actor per this many cores (the rest decode, detect and paste)."""


@dataclass
class Plan:
    """What the driver settles before any image: the work left to do, and what every record repeats."""

    model_path: Path
    size: int
    model: dict
    options: dict
    report_fields: dict
    paths: list[Path | str]
    todo: list[tuple[Path | str, Path]] = field(default_factory=list)
    records: dict[str, dict] = field(default_factory=dict)
    skipped: int = 0


def plan_run(args: argparse.Namespace) -> Plan:
    """The CLI's own checks and model/detector preparation (on this machine's CPU), then resume: the
    inputs whose recorded output is intact are skipped; clashing output names fail here."""
    if args.sequence or args.temporal_smoothing == "on":
        raise GPENError("--ray restores images one by one; follow the frames of a sequence without --ray")
    inputs, models, _, fields = prepare(argparse.Namespace(**{**vars(args), "device": "cpu"}))
    paths = [source for item in inputs for source in (list_uris(item) if is_uri(item) else [item])]
    videos = [path for path in paths if is_video(path)]
    if videos:
        raise GPENError(f"--ray restores images; restore videos ({videos[0].name}, ...) without --ray")
    if len(models.sizes) > 1:
        raise GPENError("--ray runs one model file; give --model a file, not a folder of models")
    model_path = Path(fields["model"])
    plan = Plan(
        model_path, models.sizes[0], {"model": model_path.name, "model_sha256": fields.get("model_sha256") or file_sha256(model_path)},
        run_options(args), fields, paths,
    )
    del models  # the actors load their own
    provenance, written = Provenance.open(args.output), set()
    for path in paths:
        try:
            target = output_path(path, args.output, written)
        except GPENError as error:
            plan.records[str(path)] = failed_record(str(path), str(error), plan.model, plan.options)
            continue
        written.add(target)
        if provenance.is_done(path, target, plan.model, plan.options):
            plan.records[str(path)] = provenance.earlier[str(path)]
            plan.skipped += 1
        else:
            plan.todo.append((path, target))
    return plan


def connect(ray: object, address: str) -> None:
    """Joins the cluster at ``address`` (``auto``, ``ray://...``) or starts a local Ray; a session already
    started in this process (e.g. by a script or a test) is used as it is."""
    if ray.is_initialized():
        return
    try:
        if address == LOCAL:
            # local workers import this very copy of gpen_ext (a checkout need not be installed)
            path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))
            ray.init(runtime_env={"env_vars": {"PYTHONPATH": path}}, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise GPENError(f"cannot reach the Ray cluster at {address}: {str(error).splitlines()[0]}") from error


def model_actors(ray: object, device: str) -> dict:
    """The actor pool's resources: one GPU per actor and one actor per GPU on CUDA, else CPU actors."""
    resources = ray.cluster_resources()
    # a killed actor is restarted and its images retried; being explicit also keeps Ray Data from
    # fusing the CPU detection stage into the model actors (fusion needs equal remote arguments)
    retries = {"max_restarts": -1, "max_task_retries": -1}
    if device.startswith("cuda"):
        gpus = int(resources.get("GPU", 0))
        if not gpus:
            raise GPENError("--device cuda, but the Ray cluster has no GPU")
        return {"compute": ray.data.ActorPoolStrategy(size=gpus), "num_gpus": 1, **retries}
    actors = max(1, int(resources.get("CPU", 1)) // CPUS_PER_MODEL_ACTOR)
    return {"compute": ray.data.ActorPoolStrategy(size=actors), "num_cpus": 1, **retries}


def restore_dataset(ray: object, args: argparse.Namespace, plan: Plan) -> object:
    """The streaming dataset of the inputs to do, one image a block, yielding one provenance record each."""
    items = [{"input": str(path), "target": str(target), "error": "", "work": b""} for path, target in plan.todo]
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    dataset = dataset.map(find_faces, fn_kwargs={"args": args, "size": plan.size}, num_cpus=1)
    dataset = dataset.map(
        ModelStage, fn_constructor_kwargs={"model_path": str(plan.model_path), "device": args.device, "dtype": args.dtype},
        **model_actors(ray, args.device),
    )
    return dataset.map(
        paste_faces, fn_kwargs={"args": args, "size": plan.size, "model": plan.model, "options": plan.options}, num_cpus=1
    )


def report_entry(record: dict) -> dict:
    """The ``--report`` entry of a provenance record (the plain CLI's shape)."""
    if record["status"] != "done":
        return {"input": record["input"], "error": record["error"]}
    return {"input": record["input"], "output": record["output"], "faces": record["faces"]}


def run_cluster(args: argparse.Namespace) -> int:
    """The ``restore --ray`` command; the exit status (0 all done, 1 some failed, 2 nothing could start)."""
    try:
        import ray  # noqa: PLC0415 (an optional extra)
    except ImportError:
        print('gpen: error: --ray needs Ray: pip install ".[cluster]"', file=sys.stderr)
        return 2
    try:
        plan = plan_run(args)
        connect(ray, args.ray)
        dataset = restore_dataset(ray, args, plan) if plan.todo else None
    except (GPENError, OSError) as error:
        print(f"gpen: error: {error}", file=sys.stderr)
        return 2
    provenance, start, new = Provenance(args.output / PROVENANCE_NAME), time.perf_counter(), []
    for record in plan.records.values():
        if record["status"] == "failed":
            new.append(record)
            provenance.append(record)
    for row in dataset.iter_rows() if dataset is not None else ():
        record = json.loads(row["record"])
        plan.records[record["input"]] = record
        new.append(record)
        provenance.append(record)
        if record["status"] == "failed":
            print(f"gpen: {record['input']}: {record['error']}", file=sys.stderr)
    for partial in args.output.glob(".gpen-partial-*"):  # left by tasks killed and retried
        shutil.rmtree(partial, ignore_errors=True)
    print(summary(new, plan.skipped, time.perf_counter() - start), file=sys.stderr)
    if args.report:
        entries = [report_entry(plan.records[str(path)]) for path in plan.paths]
        args.report.write_text(json.dumps({**plan.report_fields, "images": entries}, indent=2))
    return 1 if any(record["status"] == "failed" for record in new) else 0


def summary(records: list[dict], skipped: int, seconds: float) -> str:
    """The run's last line: what was done, how fast, and how many failed."""
    done = [record for record in records if record["status"] == "done"]
    faces = sum(record["faces_restored"] for record in done)
    failed = len(records) - len(done)
    return (
        f"gpen: {len(done)} images restored, {faces} faces, {failed} failed, {skipped} skipped as already done; "
        f"{seconds:.1f} s, {len(done) / seconds if seconds else 0:.2f} images/s, {faces / seconds if seconds else 0:.2f} faces/s"
    )
