"""The output's video stream: the encoder the extension names, set up to match the input's stream,
and restored RGB frames turned back into the frames it encodes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import VideoError
from .formats import OutputFormat
from .info import VideoInfo
from .pyav import import_av
from .reading import CHROMA_OUT

CHROMA_FAMILIES = ("444", "422")
"""Chroma subsamplings kept as they are (8-bit); everything else is encoded 4:2:0, which every player plays."""
PIXEL_FORMATS = {"gif": "pal8", "libwebp_anim": "bgra"}
"""Encoders with a pixel format of their own (GIF: 256 colours a frame; animated WebP: lossless RGB)."""


def encoder_pixel_format(encoder: str, source: str) -> str:
    """The 8-bit pixel format closest to the source's (10-bit and HDR sources are written 8-bit)."""
    if encoder in PIXEL_FORMATS:
        return PIXEL_FORMATS[encoder]
    family = next((family for family in CHROMA_FAMILIES if family in source), "420")
    return f"yuv{family}p"


def add_video_stream(output: Any, info: VideoInfo, format: OutputFormat, target: Path) -> Any:
    """An encoder stream with the input's coded size, time base, frame rate, colour tags and display matrix.

    The input's time base is kept, and each frame keeps its pts, so variable-frame-rate clips stay in
    sync with their audio; the display matrix is written back because the frames are encoded as coded.
    """
    av = import_av()
    if format.encoder not in av.codecs_available:
        raise VideoError(f"{target}: this PyAV build has no {format.encoder} encoder; write .mkv or .mp4 instead")
    stream = output.add_stream(format.encoder, rate=info.fps, options=dict(format.options))
    stream.width, stream.height = info.coded_width, info.coded_height
    stream.pix_fmt = encoder_pixel_format(format.encoder, info.pixel_format)
    stream.time_base = info.time_base
    codec_context = stream.codec_context
    codec_context.time_base = info.time_base
    codec_context.colorspace, codec_context.color_range = info.colour.space, info.colour.range
    codec_context.color_primaries, codec_context.color_trc = info.colour.primaries, info.colour.transfer
    if info.orientation.matrix is not None:
        stream.set_display_matrix(info.orientation.matrix)
    return stream


def encoder_frame(restored: np.ndarray, source: Any, stream: Any, info: VideoInfo) -> Any:
    """The restored upright RGB frame as ``stream`` encodes it: turned back as coded, converted with the
    input's colour matrix and range, at the source frame's pts.

    From a deep source through 16-bit RGB, as it was read (``reading.upright_rgb``): swscale's 8-bit
    paths are each about half a level off, which cancels only when both ends are 8-bit.
    """
    av = import_av()
    coded = np.ascontiguousarray(info.orientation.coded(restored))
    if stream.pix_fmt == "pal8":
        frame = av.VideoFrame.from_ndarray(palette_image(coded), format="pal8")
    else:
        rgb = (coded.astype(np.uint16) * 257, "rgb48le") if info.bit_depth > 8 else (coded, "rgb24")
        frame = av.VideoFrame.from_ndarray(*rgb).reformat(
            format=stream.pix_fmt, dst_colorspace=info.colour.space, dst_color_range=info.colour.range,
            interpolation=CHROMA_OUT)
    frame.pts, frame.time_base = source.pts, source.time_base
    return frame


def palette_image(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A GIF frame: 256 colours chosen for this frame (Pillow's median cut, dithered) and its ARGB palette;
    FFmpeg's own RGB-to-palette conversion uses one fixed palette, which bands faces badly."""
    image = Image.fromarray(rgb).quantize(colors=256)
    colours = np.array(image.getpalette(), dtype=np.uint8).reshape(-1, 3)
    palette = np.zeros((256, 4), dtype=np.uint8)
    palette[:, 0] = 255
    palette[: len(colours), 1:] = colours[:256]
    return np.array(image), palette
