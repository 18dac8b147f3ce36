"""Inputs on object stores (``s3://``, ``gs://``, ``hdfs://``, ...), read through pyarrow's filesystems.

An archive in a bucket is listed by the driver and read by the tasks themselves, with whatever
credentials the cluster's nodes have (pyarrow's own: environment, instance roles, config files).
The CLI's readers need a path (OpenCV, Pillow and the metadata reader open files), so a task copies
its image into a temporary file, deleted when the task is done. Outputs still go to ``-o``, a
folder every node sees.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ImageError
from ..faces.image_files import IMAGE_EXTENSIONS
from ..faces.manifests import is_uri, source_name


def filesystem(uri: str) -> tuple[object, str]:
    """pyarrow's filesystem for ``uri`` and the path within it; an ImageError if pyarrow cannot open it."""
    from pyarrow import fs  # noqa: PLC0415 (the cluster extra)

    try:
        return fs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as error:  # an unknown scheme, missing credentials, ...
        raise ImageError(f"{uri}: {str(error).splitlines()[0]}") from error


def sibling_uri(uri: str, path: str) -> str:
    """The URI of ``path`` on ``uri``'s filesystem: the same scheme and query (e.g. an endpoint)."""
    scheme = uri.split("://", 1)[0]
    query = "?" + uri.split("?", 1)[1] if "?" in uri else ""
    return f"{scheme}://{path if scheme != 'file' or path.startswith('/') else '/' + path}{query}"


def list_uris(uri: str) -> list[str]:
    """The image files ``uri`` names: itself if a file, else the folder's image files (sorted, not recursive)."""
    from pyarrow import fs  # noqa: PLC0415

    store, path = filesystem(uri)
    info = store.get_file_info(path)
    if info.type == fs.FileType.File:
        return [uri]
    if info.type != fs.FileType.Directory:
        raise ImageError(f"{uri}: no such file or folder")
    files = sorted(
        entry.path for entry in store.get_file_info(fs.FileSelector(path))
        if entry.type == fs.FileType.File and Path(entry.path).suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise ImageError(f"{uri}: no image files in this folder (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return [sibling_uri(uri, file) for file in files]


@contextmanager
def local_copy(source: str) -> Iterator[Path]:
    """A local path with ``source``'s bytes: the path itself for a local file, else a temporary copy."""
    if not is_uri(source):
        yield Path(source)
        return
    store, path = filesystem(source)
    with tempfile.TemporaryDirectory(prefix="gpen-input-") as folder:
        local = Path(folder) / source_name(source)
        with store.open_input_stream(path) as stream, local.open("wb") as file:
            shutil.copyfileobj(stream, file)
        yield local
