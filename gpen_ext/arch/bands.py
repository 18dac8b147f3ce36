"""Horizontal bands: how a decoder level is computed a few hundred rows at a time, exactly.

At 2048 one level's intermediates (upsampled map, its activation, the second conv and its
activation) are 256-512 MB each, and only the level's output is needed afterwards. Computed in
bands, those intermediates exist for one band at a time: peak memory drops by gigabytes and the
allocator reuses the same few blocks instead of mapping fresh ones for every layer.

A band's output rows depend on a few input rows around them (the receptive field of the 2x
transposed conv, the blur and the 3x3 conv). Each band runs the unchanged layers on an input
slice with that margin and keeps the rows whose whole receptive field lay inside the slice,
so the result is bit-identical to computing the level in one piece.
"""
from __future__ import annotations

from dataclasses import dataclass

# Output row r reads blurred rows r-1..r+1 (3x3 conv), which read transposed-conv rows r-2..r+3
# (4-tap blur, padding 1), which read input rows floor(r/2)-2 .. floor(r/2)+2: two input rows
# of margin on each side make every kept row exact (tests check this with tiny bands).
INPUT_MARGIN = 2

# Intermediates of about this size keep the margin's recomputation near 3 % at 2048 while
# cutting the peak of the top levels by about 1 GB (fp32).
DEFAULT_BAND_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Band:
    """Output rows ``rows`` come from input rows ``inputs``; they are rows ``kept`` of that slice's output."""

    rows: slice
    inputs: slice
    kept: slice

    @property
    def feature_rows(self) -> slice:
        """The rows of the level's encoder feature that go with ``inputs`` (the slice's output rows)."""
        return slice(2 * self.inputs.start, 2 * self.inputs.stop)


def band_height(output_rows: int, row_bytes: int, band_bytes: int) -> int:
    """Rows per band (even, at least 2 * INPUT_MARGIN) so one intermediate is about ``band_bytes``."""
    rows = max(band_bytes // max(row_bytes, 1), 2 * INPUT_MARGIN)
    return min(output_rows, rows - rows % 2)


def split_rows(input_rows: int, height: int) -> list[Band]:
    """The bands, top to bottom, that cover the ``2 * input_rows`` output rows of a 2x level."""
    output_rows = 2 * input_rows
    bands = []
    for start in range(0, output_rows, height):
        stop = min(start + height, output_rows)
        first = max(start // 2 - INPUT_MARGIN, 0)
        last = min(stop // 2 + INPUT_MARGIN, input_rows)
        bands.append(Band(slice(start, stop), slice(first, last), slice(start - 2 * first, stop - 2 * first)))
    return bands
