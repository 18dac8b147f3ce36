"""The GPEN-BFR ``FullGenerator`` as one inference-only module, and how to build it."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from .bands import DEFAULT_BAND_BYTES
from .config import GPENConfig
from .decoder import Decoder
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

    def move_to(self, device: str | torch.device) -> GPENGenerator:
        """Move every prepared tensor, and the placement the layers compute with, to ``device``.

        ``nn.Module.to`` alone would move the tensors but leave the layers sending their inputs
        to the old device; the WebUI parks models on the CPU between uses this way.
        """
        placement = replace(self.placement, device=torch.device(device))
        self.to(placement.device)
        for module in self.modules():
            if isinstance(getattr(module, "placement", None), Placement):
                module.placement = placement
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
        return torch.cat(outputs).contiguous()


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
