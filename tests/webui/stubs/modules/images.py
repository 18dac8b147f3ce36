"""Mirrors ``modules/images.py``: ``read`` and ``fix_image``, which Extras applies to the images it is given."""
from __future__ import annotations

from PIL import Image, ImageOps


def fix_image(image: Image.Image | None) -> Image.Image | None:
    """Mirrors ``fix_image``: turn the pixels upright by their EXIF orientation, and make a palette or RGB
    image with a transparency entry RGBA; any failure leaves the image as it is."""
    if image is None:
        return None
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGB", "P") and isinstance(image.info.get("transparency"), bytes):
            image = image.convert("RGBA")
    except Exception:  # noqa: BLE001, S110 - the WebUI ignores any failure here
        pass
    return image


def read(path: str) -> Image.Image:
    """Mirrors ``read``: open, then ``fix_image``."""
    return fix_image(Image.open(path))
