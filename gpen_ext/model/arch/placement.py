"""Where the network's tensors live: device, compute dtype and memory layout, decided once."""
from __future__ import annotations

from dataclasses import dataclass

import torch

CHANNELS_LAST_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Placement:
    """Feature maps and fixed conv weights use ``dtype``; small style maths stays fp32.

    Channels-last (NHWC) lets oneDNN and cuDNN run the convolutions without layout reorders;
    other backends (MPS) keep PyTorch's default layout, where their kernels are best tested.
    """

    device: torch.device
    dtype: torch.dtype

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.device.type in CHANNELS_LAST_DEVICES else torch.contiguous_format

    def compute(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` on the device in the compute dtype and layout, in one copy at most (a 2048 image is 48 MB).

        Tensors with a dim of size 1 after the first (kernels, biases) take ``contiguous(memory_format)``'s
        strides, which a fresh tensor of that format does not have there (``torch.export`` then
        specialises the batch size of an exported graph).
        """
        if tensor.dim() != 4 or min(tensor.shape[1:]) == 1:
            return self.layout(tensor.to(self.dtype))
        if tensor.device == self.device and tensor.dtype == self.dtype:
            return tensor.contiguous(memory_format=self.memory_format)
        converted = torch.empty(tensor.shape, dtype=self.dtype, device=self.device, memory_format=self.memory_format)
        return converted.copy_(tensor)

    def layout(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` on the device, 4-D ones in the compute layout, dtype unchanged."""
        tensor = tensor.to(self.device)
        return tensor.contiguous(memory_format=self.memory_format) if tensor.dim() == 4 else tensor

    def fp32(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(self.device, torch.float32)
