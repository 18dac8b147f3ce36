"""Writing a file so that its name only ever holds a complete file."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def part_path(target: Path) -> Path:
    """The hidden name beside ``target`` that a file is written under until it is complete."""
    return target.with_name(f".{target.name}.part")


@contextmanager
def written_atomically(target: Path) -> Iterator[Path]:
    """Yield the temporary path to write; renamed onto ``target`` when the block ends normally,
    removed when anything (an error, Ctrl-C) ends it, so nothing half-written stays behind."""
    part = part_path(target)
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
