"""What a restored image file keeps of its input besides the pixels: EXIF, ICC profile, DPI, PNG text, JPEG tables.

A photo's metadata (camera, date, GPS, colour profile, print size) belongs to the user, and a JPEG
re-encoded at a fixed quality can grow by a quarter or lose detail. So the metadata is copied,
and a JPEG is written with the input's own quantisation tables and chroma subsampling, which
reproduces its quality. EXIF is copied byte for byte, except that its orientation becomes 1 when
the pixels were turned upright on reading (else viewers would turn them a second time).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError

EXIF_ORIENTATION_TAG = 0x0112
EXIF_PREFIX = b"Exif\x00\x00"
SHORT = 3
"""The TIFF type of the orientation value (an unsigned 16-bit integer)."""
DEFAULT_QUALITY = {"JPEG": 95}
LOSSLESS = {"WEBP"}
"""Written losslessly unless ``quality`` says otherwise (as OpenCV writes WebP by default)."""


@dataclass(frozen=True)
class ImageInfo:
    """The metadata of one image file, as Pillow reads it (empty for a file Pillow cannot open)."""

    format: str | None = None
    orientation: int = 1
    exif: bytes = b""
    icc_profile: bytes = b""
    dpi: tuple[float, float] | None = None
    text: dict[str, str] = field(default_factory=dict)
    qtables: Any = None
    subsampling: int = -1

    @classmethod
    def read(cls, path: Path) -> ImageInfo:
        try:
            with Image.open(path) as image:
                return cls(
                    format=image.format,
                    orientation=int(image.getexif().get(EXIF_ORIENTATION_TAG, 1)),
                    exif=image.info.get("exif", b""),
                    icc_profile=image.info.get("icc_profile", b""),
                    dpi=image.info.get("dpi"),
                    text=dict(getattr(image, "text", {})),
                    qtables=getattr(image, "quantization", None) if image.format == "JPEG" else None,
                    subsampling=JpegImagePlugin.get_sampling(image) if image.format == "JPEG" else -1,
                )
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
            return cls()

    def save_options(self, format: str, quality: int | None) -> dict[str, Any]:
        """Pillow ``save`` keyword arguments that write this metadata (and quality) into a ``format`` file.

        The pixels are upright (``read_image`` turns them), so a turned image's EXIF says upright too.
        """
        options: dict[str, Any] = {}
        exif = reset_orientation(self.exif) if self.orientation != 1 else self.exif
        if exif:
            options["exif"] = exif
        if self.icc_profile:
            options["icc_profile"] = self.icc_profile
        if self.dpi:
            options["dpi"] = self.dpi
        if format == "PNG" and self.text:
            options["pnginfo"] = png_text(self.text)
        if quality is not None:
            options["quality"] = quality
        elif format == "JPEG" and self.qtables:
            options.update(qtables=self.qtables, subsampling=self.subsampling)
        elif format in DEFAULT_QUALITY:
            options["quality"] = DEFAULT_QUALITY[format]
        elif format in LOSSLESS:
            options["lossless"] = True
        return options


def png_text(text: dict[str, str]) -> PngImagePlugin.PngInfo:
    """PNG text chunks: international (iTXt) ones stay iTXt, so non-Latin text survives."""
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        if isinstance(value, PngImagePlugin.iTXt):
            info.add_itxt(key, value, value.lang, value.tkey)
        else:
            info.add_text(key, value)
    return info


def reset_orientation(exif: bytes) -> bytes:
    """``exif`` with its orientation set to 1 (upright), everything else byte for byte; empty if unreadable.

    Patched in place rather than rebuilt with ``Image.Exif``, which would rewrite (and can drop)
    maker notes and sub-directories.
    """
    head = len(EXIF_PREFIX) if exif.startswith(EXIF_PREFIX) else 0
    tiff = exif[head:]
    order = "<" if tiff[:2] == b"II" else ">"
    patched = bytearray(exif)
    try:
        (first,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, first)
        for entry in range(first + 2, first + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from(order + "HH", tiff, entry)
            if tag == EXIF_ORIENTATION_TAG and kind == SHORT:
                struct.pack_into(order + "H", patched, head + entry + 8, 1)
    except struct.error:
        return b""  # a wrong orientation would turn the upright pixels again: better none
    return bytes(patched)
