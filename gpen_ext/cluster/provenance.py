"""``OUT/gpen-provenance.jsonl``: one JSON line per input, what was made of it and how; and resume.

A line is written when an input is finished (restored, copied or failed), so an interrupted
run leaves the lines of what it finished. A later run with the same options and model reads
them and skips an input whose recorded output is still there with the recorded size and
sha256: only the remainder is done, and an output changed or removed since is made again.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..model.download import file_sha256

PROVENANCE_NAME = "gpen-provenance.jsonl"
OPTION_NAMES = (
    "detector", "faces", "min_face_size", "confidence", "visibility", "mask", "color_correction",
    "batch_size", "device", "dtype", "quality", "save_faces",
)
"""The options that can change an output: a re-run with other values makes the outputs again."""


def run_options(args: argparse.Namespace) -> dict:
    """The output-changing options of this run, as JSON values."""
    return {name: getattr(args, name) for name in OPTION_NAMES}


def done_record(entry: dict, target: Path, model: dict, options: dict) -> dict:
    """The provenance line of an input restored (or copied) into ``target``; ``entry`` is its report entry."""
    faces = entry["faces"]
    return {
        "input": entry["input"], "output": str(target), "status": "done", **model, "options": options,
        "faces_found": len(faces), "faces_restored": sum(face["restored"] for face in faces),
        "output_bytes": target.stat().st_size, "output_sha256": file_sha256(target), "faces": faces,
    }


def failed_record(path: str, reason: str, model: dict, options: dict) -> dict:
    """The provenance line of an input that could not be restored, with its one-line reason."""
    return {"input": path, "output": None, "status": "failed", **model, "options": options, "error": reason}


@dataclass
class Provenance:
    """The provenance file of an output folder: the records of earlier runs, and the appending of new ones."""

    path: Path
    earlier: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path) -> Provenance:
        """The provenance of ``folder``, with its last record per input (a torn last line is ignored)."""
        provenance = cls(folder / PROVENANCE_NAME)
        if provenance.path.is_file():
            for line in provenance.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line a killed driver was writing
                provenance.earlier[record["input"]] = record
        return provenance

    def is_done(self, path: Path, target: Path, model: dict, options: dict) -> bool:
        """Whether an earlier run made ``target`` from ``path`` with this model and options, and it is intact."""
        record = self.earlier.get(str(path))
        if record is None or record["status"] != "done" or record["output"] != str(target):
            return False
        if record["model_sha256"] != model["model_sha256"] or record["options"] != options:
            return False
        return target.is_file() and target.stat().st_size == record["output_bytes"] and file_sha256(target) == record["output_sha256"]

    def append(self, record: dict) -> None:
        """Adds one record (flushed at once: a killed driver loses at most the line it was writing)."""
        with self.path.open("a") as file:
            file.write(json.dumps(record) + "\n")
