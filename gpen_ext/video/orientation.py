"""A clip's display matrix (how a phone says "turn me a quarter to show me"), applied to the pixels.

The face detector finds only upright faces, so frames are turned upright for the restorer and
turned back before encoding: the output keeps the input's coded size and display matrix, and so
plays the same way in every player, including one that ignores the matrix as the input's would.
Only the eight quarter-turn and mirror orientations are turned; a matrix with another angle (no
phone writes one) leaves the frames as coded, still written back with their matrix.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

ONE = 1 << 16
"""1.0 in the matrix's 16.16 fixed point (its a, b, c, d entries)."""


@dataclass(frozen=True)
class Orientation:
    """The display matrix of a stream, as FFmpeg's nine int32 (``AV_PKT_DATA_DISPLAYMATRIX``).

    A coded pixel (x, y) is shown at (a*x + c*y, b*x + d*y), shifted into the picture, with
    a, b, c, d = matrix[0], matrix[1], matrix[3], matrix[4]; upright is the identity.
    """

    matrix: tuple[int, ...] | None = None

    @classmethod
    def from_side_data(cls, data: bytes | None) -> Orientation:
        return cls(struct.unpack("<9i", data) if data is not None and len(data) == 36 else None)

    @property
    def turns(self) -> bool:
        """Whether the pixels are turned (a quarter- or half-turn, or a mirror) to be shown upright."""
        return self._signs is not None and self._signs != (False, 1, 1)

    @property
    def _signs(self) -> tuple[bool, int, int] | None:
        """(swap the axes, sign of the shown x, sign of the shown y) for a quarter-turn matrix, else None."""
        if self.matrix is None:
            return (False, 1, 1)
        a, b, _, c, d = (round(value / ONE) for value in self.matrix[:5])
        if (abs(a), abs(d), b, c) == (1, 1, 0, 0):
            return (False, a, d)
        if (a, d, abs(b), abs(c)) == (0, 0, 1, 1):
            return (True, c, b)
        return None

    def shown_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of a coded ``width`` x ``height`` frame once turned upright."""
        return (height, width) if self.turns and self._signs[0] else (width, height)

    def upright(self, coded: np.ndarray) -> np.ndarray:
        """The frame as shown (HxWxC): the array the restorer sees."""
        if not self.turns:
            return coded
        swap, x_sign, y_sign = self._signs
        shown = coded.swapaxes(0, 1) if swap else coded
        return shown[:: y_sign, :: x_sign]

    def coded(self, shown: np.ndarray) -> np.ndarray:
        """The inverse of ``upright``: the frame as the encoder stores it, under the same matrix."""
        if not self.turns:
            return shown
        swap, x_sign, y_sign = self._signs
        unmirrored = shown[:: y_sign, :: x_sign]
        return unmirrored.swapaxes(0, 1) if swap else unmirrored
