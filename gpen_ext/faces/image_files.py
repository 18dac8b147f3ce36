"""Reading and writing image files with their bit depth, alpha, EXIF orientation and metadata intact.

OpenCV keeps 16-bit depth and alpha (Pillow drops 16-bit colour), but ignores EXIF
orientation in its unchanged mode; the orientation is therefore read with Pillow and
applied to the pixels, so a phone photo is restored the right way up and saved upright.
8-bit results are written with Pillow, which also writes the input's metadata and JPEG tables
(``image_metadata``); 16-bit ones with OpenCV, which keeps their depth but no metadata.
"""
from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import ImageError
from .image_metadata import ImageInfo

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# EXIF orientation -> the numpy operation that makes the image upright (as PIL.ImageOps.exif_transpose).
ORIENTATION_FIXES: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def swap_red_blue(array: np.ndarray) -> np.ndarray:
    """RGB(A) <-> BGR(A); grey images unchanged (OpenCV stores colour as BGR)."""
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[:, :, [2, 1, 0, 3][: array.shape[2]]]
    return array


def read_image(path: str | Path, info: ImageInfo | None = None) -> np.ndarray:
    """The pixels of ``path`` as RGB/RGBA/grey, 8 or 16 bit, upright; an ImageError if unreadable.

    The message does not repeat the path: the caller names the file (``info``: already read, if given).
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise ImageError(f"cannot read it: {error.strerror or error}") from error
    if not data.size:
        raise ImageError("the file is empty (0 bytes)")
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageError("not an image file that can be decoded (use PNG, JPEG, WebP, BMP or TIFF)")
    fix = ORIENTATION_FIXES.get((info or ImageInfo.read(path)).orientation)
    array = swap_red_blue(array)
    return np.ascontiguousarray(fix(array) if fix else array)


def write_image(path: str | Path, array: np.ndarray, info: ImageInfo | None = None, quality: int | None = None) -> None:
    """Save RGB/RGBA/grey pixels in the format that ``path``'s extension names, with ``info``'s metadata.

    ``quality`` (JPEG/WebP): None keeps a JPEG input's own quality (its tables), else 95; WebP lossless.
    """
    path = Path(path)
    if array.dtype != np.uint8:
        ok, encoded = cv2.imencode(path.suffix, swap_red_blue(array))
        if not ok:
            raise ImageError(f"cannot encode the result as {path.suffix}")
        encoded.tofile(path)
        return
    format = Image.registered_extensions().get(path.suffix.lower())
    if format is None:
        raise ImageError(f"cannot encode the result as {path.suffix}")
    options = (info or ImageInfo()).save_options(format, quality)
    Image.fromarray(array.squeeze(2) if array.ndim == 3 and array.shape[2] == 1 else array).save(path, format, **options)


def list_images(inputs: list[str | Path], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """The image files among ``inputs``: files as given, folders by their files of ``extensions`` (sorted, not
    recursive), patterns (``photos/*.jpg``, for shells that do not expand them) by the files they match.

    An ImageError for an input that yields nothing: a missing path, a folder without images, a
    pattern that matches no file. Silence there would look like success.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in extensions and p.is_file())
            if not images:
                raise ImageError(f"{path}: no image files in this folder (looked for {', '.join(extensions)})")
        elif path.exists():
            images = [path]
        elif any(char in str(item) for char in "*?["):
            images = sorted(Path(match) for match in glob.glob(str(item)) if Path(match).is_file())
            if not images:
                raise ImageError(f"{item}: no file matches this pattern")
        else:
            raise ImageError(f"{path}: no such file or folder")
        found += images
    return found


def pil_to_array(image: Image.Image) -> np.ndarray:
    """A Pillow image as an array the pipeline takes: grey, RGB, RGBA or 16-bit grey as they are,
    every other mode (palette, CMYK, LA, ...) converted to RGB or RGBA first.

    ``numpy.asarray`` alone would hand over palette indices as grey levels or CMYK as RGBA.
    """
    if image.mode not in ("L", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return np.array(image)

