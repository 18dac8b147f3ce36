"""Reading a model file's container (PyTorch zip, legacy PyTorch, safetensors) without running its code.

The container is recognised from the file's first bytes, not its extension: users rename files,
and a failed download leaves an HTML page or a Git LFS pointer under the model's name. Pickled
containers are read with PyTorch's restricted unpickler (``weights_only=True``), which refuses to
import anything but tensors and plain containers, so a malicious file cannot run code.
"""
from __future__ import annotations

import re
import struct
import warnings
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from ..errors import CheckpointError

EXPECTED = (
    "a GPEN-BFR-256/512/1024/2048 state dict (e.g. GPEN-BFR-2048.pth from the official GPEN release "
    "or ModelScope's pytorch_model-2048.pt from damo/cv_gpen_image-portrait-enhancement-hires)"
)
DOWNLOAD_AGAIN = "Download the model again and replace this file."

HEAD_SIZE = 64
MAX_REASON = 120
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_OPCODE = 0x80
SAFETENSORS_HEADER = struct.Struct("<Q")

FOREIGN_SIGNATURES = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"version https://git-lfs", "a Git LFS pointer (a small text file standing in for the model, not the model)"),
)


def checkpoint_error(source: str | Path, found: str, remedy: str) -> CheckpointError:
    """The one message shape of every checkpoint failure: which file, what it is, what was expected, what to do."""
    return CheckpointError(
        f"Cannot load {source}: {found}. Expected {EXPECTED}. {remedy}",
        short=f"{Path(source).name} is not a usable GPEN model: {found}. Replace the file (details in the console).",
    )


def load_container(path: Path) -> Any:
    """The Python object stored in ``path`` (dicts and tensors only), or a ``CheckpointError``."""
    head = _read_head(path)
    if head.startswith(ZIP_MAGIC):
        return _torch_load(path, mmap=True)
    if head[0] == PICKLE_PROTOCOL_OPCODE:
        return _torch_load(path, mmap=False)
    if _is_safetensors(head):
        return _safetensors_load(path)
    raise checkpoint_error(path, f"it is {describe_content(head)}, not a PyTorch or safetensors file", DOWNLOAD_AGAIN)


def describe_content(head: bytes) -> str:
    """A human name for a file that is not a model container, from its first bytes."""
    for signature, name in FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return name
    try:
        text = head.decode("utf-8").lstrip().lower()
    except UnicodeDecodeError:
        return f"unrecognised binary data (first bytes {head[:8].hex(' ')})"
    if text.startswith(("<!doctype html", "<html")):
        return "an HTML page (a failed download saves the error or login page under the model's name)"
    return "a text file"


def _read_head(path: Path) -> bytes:
    """The first bytes of ``path``, after the checks that explain a wrong path or an empty file."""
    if not path.exists():
        raise checkpoint_error(path, "no such file", "Check the path, or put the model file in the GPEN models folder.")
    if path.is_dir():
        raise checkpoint_error(path, "it is a folder, not a model file", "Pick a .pth, .pt or .safetensors file.")
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_SIZE)
    except OSError as error:
        raise checkpoint_error(path, f"it cannot be read ({error.strerror})", "Check the file's permissions.") from error
    if not head:
        raise checkpoint_error(path, "the file is empty (0 bytes), an interrupted download", DOWNLOAD_AGAIN)
    return head


def load_weights_only(path: Path, *, mmap: bool = False) -> Any:
    """``torch.load`` with PyTorch's restricted unpickler: tensors and plain containers only, on the CPU.

    Called as ``torch.serialization.load`` because the WebUI (A1111 ``modules/safe.py``) replaces
    ``torch.load`` with its own checker, whose list of allowed zip entries predates the
    ``.format_version`` entry current PyTorch writes: it refuses every file saved by a recent
    ``torch.save`` and returns ``None``. ``weights_only=True`` already refuses any pickled code, so
    skipping that wrapper gives up no safety.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about pickle protocols it reads fine
        return torch.serialization.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def _torch_load(path: Path, mmap: bool) -> Any:
    """``load_weights_only``; zip files are memory-mapped so 285 MB are not held twice."""
    try:
        return load_weights_only(path, mmap=mmap)
    except MemoryError:
        raise  # not a damaged file: the caller's out-of-memory handling applies
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError... for bad files
        raise _torch_load_error(path, error) from error


def _torch_load_error(path: Path, error: Exception) -> CheckpointError:
    """Say why ``torch.load`` refused: objects other than tensors, a TorchScript archive, or a damaged file."""
    message = str(error)
    if "Weights only load failed" in message:
        named = re.search(r"(?:GLOBAL|Unsupported class) ([\w.]+)", message)
        found = f"it asks to import `{named.group(1)}`" if named else "it holds pickled data that is not a state dict"
        return checkpoint_error(
            path,
            f"{found} while loading, which was refused: model files are read without running any code they contain",
            "A real GPEN checkpoint holds only tensors; get it from the official source. "
            "If it is your own training checkpoint, save `model.state_dict()` instead of the model object.",
        )
    if "TorchScript" in message:
        return checkpoint_error(
            path, "it is a TorchScript archive (torch.jit.save), not a state dict", "Use the original GPEN-BFR file."
        )
    return _damaged(path, "PyTorch", error)


def _is_safetensors(head: bytes) -> bool:
    """A safetensors file starts with a little-endian u64 header length, then the JSON header."""
    return len(head) > SAFETENSORS_HEADER.size and head[SAFETENSORS_HEADER.size:].lstrip()[:1] == b"{"


def _safetensors_load(path: Path) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load_file(path, device="cpu")
    except Exception as error:  # safetensors raises its own SafetensorError (not importable by a stable name)
        raise _damaged(path, "safetensors", error) from error


def _damaged(path: Path, container: str, error: Exception) -> CheckpointError:
    """A recognised container that fails to load: almost always an interrupted download."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    reason = first_line.split(". ")[0][:MAX_REASON]
    return checkpoint_error(
        path, f"the {container} file is damaged or incomplete ({path.stat().st_size:,} bytes; {reason})", DOWNLOAD_AGAIN
    )
