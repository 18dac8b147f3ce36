"""The GPEN-BFR ``FullGenerator`` as one inference-only module, and how to build it."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .bands import DEFAULT_BAND_BYTES
from .config import GPENConfig
from .decoder import Decoder, StyledConv
from .encoder import Encoder
from .placement import Placement
from .precision import resolve_dtype
from .style import StyleMapping
from .weights import StateDictReader


class GPENGenerator(nn.Module):
    """Image in [-1, 1] (N, 3, size, size) -> restored image, what the original returns as ``image``.

    All weight-only work (equalized-lr scales, gains, demodulation sums, layouts, dtype casts)
    happens here at construction; the prepared tensors are buffers, not the original parameters.
    ``band_bytes`` is the size the network's intermediates are cut to (see ``bands``); any value
    gives the same result.

    The restored image is fp32 in the placement's memory format: channels-last (NHWC in memory,
    how pixels are stored) on the CPU and CUDA. Turning it into NCHW memory would cost a pass
    over the image as slow as a decoder layer (3-channel transposes), and the pixel conversion
    that follows reads NHWC directly.
    """

    def __init__(self, config: GPENConfig, state_dict: dict[str, torch.Tensor], placement: Placement) -> None:
        super().__init__()
        reader = StateDictReader(state_dict)
        self.config = config
        self.size = config.size
        self.placement = placement
        self.encoder = Encoder(reader, config, placement)
        self.mapping = StyleMapping(reader, config.n_mlp, placement)
        self.decoder = Decoder(reader, config, placement)
        self.band_bytes = DEFAULT_BAND_BYTES
        reader.finish()
        self.eval()

    @property
    def device(self) -> torch.device:
        return self.placement.device

    @property
    def dtype(self) -> torch.dtype:
        return self.placement.dtype

    supports_half = True
    """fp16 computes the same image (>= 40 dB PSNR against fp32, tested); fast on CUDA only."""
    supports_bf16 = True
    """bf16 computes the same image (>= 40 dB PSNR against fp32, tested); fast on CUDA and on CPUs with native bf16."""

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> GPENGenerator:
        """What ``.to(device/dtype)``, ``.cuda()``, ``.cpu()``, ``.half()``, ``.bfloat16()``, ``.float()`` do.

        torch's default would cast every floating tensor, the fp32 style maths included, and leave
        the layers computing with the old placement. Here ``fn`` is asked where it sends a tensor in
        the compute dtype; every layer's placement follows, the tensors the layers compute with
        (``COMPUTE_BUFFERS``) take the new dtype and layout, and the fp32 ones only move. A cast is
        from the prepared weights in their current dtype, so ``.bfloat16()`` of an fp32 model equals a
        model built in bf16, while ``.bfloat16().float()`` keeps bf16's rounding (as for any module). The
        upsampling kernels move to the layout a model built there would have (``resample.upsampling_layout``).
        """
        probe = fn(torch.empty(0, dtype=self.dtype, device=self.device))
        target = Placement(probe.device, resolve_dtype(probe.device, probe.dtype))
        for module in self.modules():
            compute = getattr(module, "COMPUTE_BUFFERS", ())
            for name, tensor in module._buffers.items():
                if tensor is not None:
                    module._buffers[name] = target.compute(tensor) if name in compute else target.layout(tensor)
            if isinstance(getattr(module, "placement", None), Placement):
                module.placement = target
        for module in self.modules():
            if isinstance(module, StyledConv):
                module.follow_placement()
        return self

    @torch.no_grad()
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features, code = self.encoder(self.placement.compute(image), self.band_bytes)
        styles = self.decoder.modulation(self.mapping(code))
        # Each sample has its own modulated weights, so the decoder runs per sample; it frees
        # each sample's features as it goes (for one sample, the encoder's outputs themselves).
        samples = [[feature.sample(index) for feature in features] for index in range(image.shape[0])]
        del features
        outputs = [
            self.decoder(sample, [style[index] for style in styles], self.band_bytes)
            for index, sample in enumerate(samples)
        ]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def build_generator(
    config: GPENConfig,
    state_dict: dict[str, torch.Tensor],
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
) -> GPENGenerator:
    """The network for ``config`` with the original ``state_dict``, ready on ``device``.

    ``dtype`` None picks the fastest accurate precision for the device (see ``precision.auto_dtype``).
    """
    device = torch.device(device)
    return GPENGenerator(config, state_dict, Placement(device, resolve_dtype(device, dtype)))
