"""Reading and writing image files with their bit depth, alpha and EXIF orientation intact.

OpenCV keeps 16-bit depth and alpha (Pillow drops 16-bit colour), but ignores EXIF
orientation in its unchanged mode; the orientation is therefore read with Pillow and
applied to the pixels, so a phone photo is restored the right way up and saved upright.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
EXIF_ORIENTATION_TAG = 0x0112
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
WRITE_PARAMS = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95], ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95]}


def exif_orientation(path: Path) -> int:
    """The EXIF orientation of ``path`` (1 = upright, also when there is no EXIF)."""
    try:
        with Image.open(path) as image:
            return int(image.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except (OSError, UnidentifiedImageError, ValueError):
        return 1


def swap_red_blue(array: np.ndarray) -> np.ndarray:
    """RGB(A) <-> BGR(A); grey images unchanged (OpenCV stores colour as BGR)."""
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[:, :, [2, 1, 0, 3][: array.shape[2]]]
    return array


def read_image(path: str | Path) -> np.ndarray:
    """The pixels of ``path`` as RGB/RGBA/grey, 8 or 16 bit, upright; an ImageError if unreadable."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from error
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if array is None:
        raise ImageError(f"{path} is not an image file that can be decoded (use PNG, JPEG, WebP, BMP or TIFF)")
    fix = ORIENTATION_FIXES.get(exif_orientation(path))
    array = swap_red_blue(array)
    return np.ascontiguousarray(fix(array) if fix else array)


def write_image(path: str | Path, array: np.ndarray) -> None:
    """Save RGB/RGBA/grey pixels in the format that ``path``'s extension names."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix, swap_red_blue(array), WRITE_PARAMS.get(path.suffix.lower(), []))
    if not ok:
        raise ImageError(f"cannot encode {path.name} as {path.suffix}")
    encoded.tofile(path)


def list_images(inputs: list[str | Path]) -> list[Path]:
    """The image files among ``inputs``: files as given, folders by their image files (sorted, not recursive)."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        else:
            found.append(item)
    return found


def pil_to_array(image: Image.Image) -> np.ndarray:
    """A Pillow image as an array the pipeline takes: grey, RGB, RGBA or 16-bit grey as they are,
    every other mode (palette, CMYK, LA, ...) converted to RGB or RGBA first.

    ``numpy.asarray`` alone would hand over palette indices as grey levels or CMYK as RGBA.
    """
    if image.mode not in ("L", "RGB", "RGBA", "I;16"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return np.array(image)

