"""Manifests: a text or CSV file listing the images to restore, one path a line.

An archive of hundreds of thousands of scans is rarely one folder; a manifest names them
wherever they are. A ``.txt`` manifest has one path a line (blank lines and ``#`` comments
skipped); a ``.csv`` one has the path in its ``path`` column, or in its first column when no
header names ``path``. A relative path is relative to the manifest's folder, so a manifest
travels with its archive. A line that is a URI (``s3://bucket/scan.tif``, ``gs://...``) names an
input on an object store, which ``--ray`` reads (``cluster/remote.py``); it is kept as written.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import ImageError

MANIFEST_EXTENSIONS = (".txt", ".csv")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
"""A scheme and ``://``: an input named by URI, not a local path (a drive letter has no ``//``)."""


def is_uri(source: str | Path) -> bool:
    """Whether ``source`` is a URI (``s3://...``) rather than a local path."""
    return isinstance(source, str) and URI.match(source) is not None


def source_name(source: str | Path) -> str:
    """The file name of a local path or a URI (its last component, the query left out)."""
    return source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if is_uri(source) else Path(source).name


def manifest_lines(path: Path) -> list[str]:
    """The paths as written in the manifest ``path``."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".txt":
        return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = [row for row in csv.reader(text.splitlines()) if row and row[0].strip()]
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    column = header.index("path") if "path" in header else 0
    return [row[column].strip() for row in rows[1 if "path" in header else 0 :] if len(row) > column]


def read_manifest(path: Path) -> list[Path | str]:
    """The image files a manifest lists (URIs as written); an ImageError naming the first line that is not a file."""
    files: list[Path | str] = []
    for number, line in enumerate(manifest_lines(path), start=1):
        if is_uri(line):
            files.append(line)
            continue
        file = Path(line) if Path(line).is_absolute() else path.parent / line
        if not file.is_file():
            raise ImageError(f"{path}: entry {number} ({line}) is not a file")
        files.append(file)
    if not files:
        raise ImageError(f"{path}: the manifest lists no files")
    return files


def expand_manifests(inputs: list[str]) -> list[str]:
    """``inputs`` with every manifest file replaced by the files it lists (folders and images as they are)."""
    expanded: list[str] = []
    for item in inputs:
        path = Path(item)
        is_manifest = path.suffix.lower() in MANIFEST_EXTENSIONS and path.is_file()
        expanded += [str(file) for file in read_manifest(path)] if is_manifest else [item]
    return expanded
