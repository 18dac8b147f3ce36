"""Horizontal bands: how a resolution step is computed a few dozen rows at a time, exactly.

At 2048 one decoder level's intermediates are 256-512 MB each, and every encoder layer blurs a
full-resolution map before its strided conv. glibc (and Windows' heap) serve blocks over 32 MB as
fresh mappings and unmap them on free, so a network made of such blocks page-faults gigabytes on
every forward. Computed in bands, and kept as :class:`RowChunks`, no tensor of the network is much
larger than ``band_bytes``: the allocator reuses the same few blocks, and the peak memory drops.

A band's output rows depend on a few input rows around them (the receptive field of the layers
involved). Each band runs the unchanged layers on an input slice with that margin and keeps the
rows whose receptive field lay inside the slice (or met the image border, where the layers' own
zero padding is right), so the result is bit-identical to computing the step in one piece.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# Upsampling level: output row r reads activated rows r-1..r+1 (3x3 conv), which read transposed-
# conv rows r-2..r+3 (4-tap blur, padding 1), which read input rows floor(r/2)-2 .. floor(r/2)+2.
UPSAMPLING_MARGIN = 2
# Downsampling encoder layer: output row r reads blurred rows 2r..2r+2 (3x3 conv, stride 2, no
# padding), which read input rows 2r-2..2r+3 (4-tap blur, padding 2).
DOWNSAMPLING_MARGIN = 2

# Just under glibc's largest mmap threshold (32 MB): bands of this size are served from the heap
# and reused even by an untuned allocator; the margins cost ~3 % more convolution at 2048.
DEFAULT_BAND_BYTES = 24 * 2**20


@dataclass(frozen=True)
class Band:
    """Output rows ``rows`` come from input rows ``inputs``; they are rows ``kept`` of that slice's output."""

    rows: slice
    inputs: slice
    kept: slice


def band_height(output_rows: int, row_bytes: int, band_bytes: int) -> int:
    """Rows per band (even, at least 4) so that one band of ``row_bytes`` rows is about ``band_bytes``."""
    rows = max(band_bytes // max(row_bytes, 1), 4)
    return min(output_rows, rows - rows % 2)


def upsampling_bands(input_rows: int, height: int) -> list[Band]:
    """The bands, top to bottom, of a 2x decoder level: ``2 * input_rows`` output rows."""
    bands = []
    for start in range(0, 2 * input_rows, height):
        stop = min(start + height, 2 * input_rows)
        first = max(start // 2 - UPSAMPLING_MARGIN, 0)
        last = min(stop // 2 + UPSAMPLING_MARGIN, input_rows)
        bands.append(Band(slice(start, stop), slice(first, last), slice(start - 2 * first, stop - 2 * first)))
    return bands


def downsampling_bands(input_rows: int, height: int) -> list[Band]:
    """The bands, top to bottom, of a stride-2 encoder layer: ``input_rows // 2`` output rows."""
    bands = []
    for start in range(0, input_rows // 2, height):
        stop = min(start + height, input_rows // 2)
        first = max(2 * start - DOWNSAMPLING_MARGIN, 0)
        last = min(2 * stop + DOWNSAMPLING_MARGIN, input_rows)
        bands.append(Band(slice(start, stop), slice(first, last), slice(start - first // 2, stop - first // 2)))
    return bands


class RowChunks:
    """A (N, C, H, W) map held as horizontal pieces, top to bottom, so that no block is large.

    Readers take the rows they need with :meth:`read` (a view when the rows lie in one piece or
    in the rows of its neighbours that its buffer also holds, see :class:`HaloWriter`; a copy of
    just those rows otherwise) or, where they can consume pieces, with :meth:`views`.
    """

    def __init__(self, pieces: list[torch.Tensor], buffers: list[tuple[torch.Tensor, int] | None] | None = None) -> None:
        """``buffers``: per piece, a tensor holding its rows and some of its neighbours' and the map row it starts
        at, or None (see :class:`HaloWriter`)."""
        self.pieces: list[torch.Tensor | None] = list(pieces)
        self.buffers: list[tuple[torch.Tensor, int] | None] = list(buffers) if buffers else []
        self.starts = [0]
        for piece in pieces:
            self.starts.append(self.starts[-1] + piece.shape[2])
        first = pieces[0]
        self.shape = torch.Size((first.shape[0], first.shape[1], self.starts[-1], first.shape[3]))

    def views(self, rows: slice) -> list[torch.Tensor]:
        """Rows ``rows.start`` to ``rows.stop`` (a plain slice within the map) as views, one per piece met."""
        return [
            piece[:, :, max(rows.start - start, 0) : min(rows.stop, stop) - start]
            for piece, start, stop in zip(self.pieces, self.starts, self.starts[1:])
            if start < rows.stop and rows.start < stop
        ]

    def read(self, rows: slice) -> torch.Tensor:
        """Rows ``rows.start`` to ``rows.stop`` as one tensor: a view, or a copy where they span pieces."""
        for held in self.buffers:
            if held is not None and held[1] <= rows.start and rows.stop <= held[1] + held[0].shape[2]:
                return held[0][:, :, rows.start - held[1] : rows.stop - held[1]]
        parts = self.views(rows)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)

    def whole(self) -> torch.Tensor:
        return self.read(slice(0, self.starts[-1]))

    def sample(self, index: int) -> RowChunks:
        """The map of one face of the batch."""
        buffers = [held and (held[0][index : index + 1], held[1]) for held in self.buffers]
        return RowChunks([piece[index : index + 1] for piece in self.pieces], buffers)

    def release_above(self, row: int) -> None:
        """Let go of the pieces that end at or above ``row``: a reader going down the map is done with them.

        The decoder frees each level's input and encoder feature this way while it reads them, so
        they are gone before the level's own output and image are complete (at 2048 the input of
        the top level is 128 MB in bf16, 256 MB in fp32).
        """
        for index, stop in enumerate(self.starts[1:]):
            if stop <= row:
                self.pieces[index] = None
                if self.buffers:
                    self.buffers[index] = None


class HaloWriter:
    """Builds a map band by band as :class:`RowChunks` whose pieces also hold ``margin`` rows of each neighbour.

    The bands of a decoder level read ``UPSAMPLING_MARGIN`` rows past their share of the previous
    level's output, and GPEN's levels halve the channels as they double the width, so every band
    of the next level reads within one band of this one and its margin: with those rows copied to
    both sides of each boundary (a few rows per band), no band input is copied (at 2048 in bf16
    the copies of the straddling inputs took ~16 ms per face).
    """

    def __init__(self, rows: int, margin: int) -> None:
        self.rows = rows
        self.margin = margin
        self.pieces: list[torch.Tensor] = []
        self.buffers: list[tuple[torch.Tensor, int] | None] = []
        self.aboves: list[int] = []

    def piece(self, rows: slice, like: torch.Tensor, channels: int) -> torch.Tensor:
        """Where the map's ``rows`` go: an empty view into a new buffer, shaped like ``like`` with ``channels``.

        Pieces come top to bottom; call :meth:`written` once the view holds its rows.
        """
        above, below = min(self.margin, rows.start), min(self.margin, self.rows - rows.stop)
        height = rows.stop - rows.start
        batch, _, _, columns = like.shape
        layout = torch.channels_last if like.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        buffer = torch.empty(
            (batch, channels, above + height + below, columns), dtype=like.dtype, device=like.device,
            memory_format=layout,
        )
        self.buffers.append((buffer, rows.start - above))
        self.aboves.append(above)
        self.pieces.append(buffer[:, :, above : above + height])
        return self.pieces[-1]

    def written(self) -> None:
        """Copy the rows the newest piece shares with the one before it into both buffers.

        A piece shorter than the margin cannot fill its neighbour's: that buffer is then not read
        (its rows come from the pieces, copied).
        """
        if len(self.pieces) < 2:
            return
        before, after = self.pieces[-2:]
        above = self.aboves[-1]
        below = self.buffers[-2][0].shape[2] - self.aboves[-2] - before.shape[2] if self.buffers[-2] else 0
        if below > after.shape[2]:
            self.buffers[-2], below = None, 0
        if above > before.shape[2]:
            self.buffers[-1], above = None, 0
        if below:
            buffer = self.buffers[-2][0]
            buffer[:, :, buffer.shape[2] - below :] = after[:, :, :below]
        if above:
            self.buffers[-1][0][:, :, :above] = before[:, :, before.shape[2] - above :]

    def chunks(self) -> RowChunks:
        return RowChunks(self.pieces, self.buffers)


class ComputedRows:
    """A pointwise layer's output over a map, computed for the rows a reader asks for, never stored.

    GPEN's first encoder layer (a 1x1 conv from RGB) makes the largest map of the network (16
    channels at 2048: 128 MB in bf16, 256 MB in fp32) and two layers read it, band by band: the
    next encoder layer and the top decoder level. Recomputing its rows for each band costs one
    1x1 conv pass more per forward (~15 ms at 2048 on two cores) and keeps it out of the peak.
    Readers see the interface of :class:`RowChunks`.
    """

    def __init__(self, source: RowChunks, layer: Callable[[torch.Tensor], torch.Tensor], channels: int) -> None:
        self.source = source
        self.layer = layer
        self.channels = channels

    @property
    def shape(self) -> torch.Size:
        batch, _, rows, columns = self.source.shape
        return torch.Size((batch, self.channels, rows, columns))

    def read(self, rows: slice) -> torch.Tensor:
        return self.layer(self.source.read(rows))

    def views(self, rows: slice) -> list[torch.Tensor]:
        return [self.read(rows)]

    def whole(self) -> torch.Tensor:
        return self.read(slice(0, self.source.shape[2]))

    def sample(self, index: int) -> ComputedRows:
        return ComputedRows(self.source.sample(index), self.layer, self.channels)

    def release_above(self, row: int) -> None:
        """Nothing is held (see :meth:`RowChunks.release_above`)."""


Rows = RowChunks | ComputedRows
"""A map that readers take row ranges of."""
