"""GPEN's decoder (the StyleGAN2 ``Generator`` with concatenated encoder "noise").

Rewrites of the original that keep its function but move work out of the hot path:

* The sqrt(2) gain of each leaky ReLU is folded into the weights of the layer that reads it.
* ``NoiseInjection`` + ``FusedLeakyReLU``: each half of the 2C-channel output is made in one pass
  (the conv with its bias and activation as oneDNN post-ops, the scaled encoder feature as a
  depthwise 1x1 conv with the same post-ops, see ``fused``) and the halves are joined once, so
  the next conv runs once over 2C channels.
* The upsampling transposed conv runs as one transposed conv, or as four ordinary phase convs
  on CPUs where those are faster (see ``resample.upsampling_layout``).
* Levels run in horizontal bands (see ``bands``), so their intermediates exist one band at a
  time and their outputs are kept as row chunks; the top level keeps only its image.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .bands import UPSAMPLING_MARGIN, Band, HaloWriter, Rows, RowChunks, band_height, upsampling_bands
from .config import GPENConfig
from .fused import conv_bias, conv_bias_leaky, fuses_on, pointwise_conv_sum, scale_bias_leaky
from .placement import Placement
from .resample import depthwise, transposed_conv, transposed_weight, upsample2x, upsampling_kernels, upsampling_layout
from .style import StyleModulation
from .weights import ACTIVATION_GAIN, StateDictReader, equal_conv_weight, flipped_kernel

UPSAMPLE_BLUR_PADDING = 1
DEMODULATION_EPS = 1e-8


class ModulatedWeight(nn.Module):
    """``ModulatedConv2d``'s per-sample weight: scaled by the style, optionally demodulated.

    Demodulation needs sum_{in,k} (w * s)^2 = (sum_k w^2) @ s^2; the sum over the kernel taps
    is fixed, so it is computed once here, and a forward costs one matvec plus one multiply.
    The weight is stored as the kernels the convolutions use (for an upsampling conv, the
    transposed conv's kernel or one per output phase), in the compute layout, so the multiply
    writes the final weights directly.
    """

    COMPUTE_BUFFERS = ("kernel0", "kernel1", "kernel2", "kernel3")  # see GPENGenerator._apply

    def __init__(self, weight: torch.Tensor, gain: float, demodulate: bool, layout: str, placement: Placement) -> None:
        """``layout``: "conv" (out, in, k, k), or an upsampling layout of ``resample.upsampling_layout``."""
        super().__init__()
        scaled = equal_conv_weight(weight[0])
        squares = placement.fp32(scaled.square().sum(dim=(2, 3))) if demodulate else None
        self.register_buffer("squares", squares, persistent=False)
        self.placement = placement
        self.layout = layout
        kernels = [scaled * gain] if layout == "conv" else upsampling_kernels(scaled * gain, layout)
        for index, kernel in enumerate(kernels):
            self.register_buffer(f"kernel{index}", placement.compute(kernel), persistent=False)
        self.count = len(kernels)

    def kernels(self) -> list[torch.Tensor]:
        return [getattr(self, f"kernel{index}") for index in range(self.count)]

    def relayout(self, layout: str) -> None:
        """Store an upsampling conv's kernels in ``layout`` instead (exactly: a layout only moves the taps)."""
        if layout == self.layout:
            return
        weight = transposed_weight(self.kernels(), self.layout).transpose(0, 1)
        for index in range(self.count):
            del self._buffers[f"kernel{index}"]
        kernels = upsampling_kernels(weight, layout)
        for index, kernel in enumerate(kernels):
            self.register_buffer(f"kernel{index}", self.placement.compute(kernel), persistent=False)
        self.layout, self.count = layout, len(kernels)

    def demodulation(self, style: torch.Tensor) -> torch.Tensor:
        """(out_channels,) fp32: what demodulation scales each output channel's ``style``-modulated kernel by."""
        return torch.rsqrt(self.squares @ style.square() + DEMODULATION_EPS)

    def forward(self, style: torch.Tensor) -> list[torch.Tensor]:
        """The kernels modulated by ``style`` (in_channels,), in the compute dtype."""
        factors = style.unsqueeze(0)
        if self.squares is not None:
            factors = factors * self.demodulation(style).unsqueeze(1)
        if self.layout == "transposed":
            # Contiguous like the kernel's own first two dims: a strided factor makes the multiply 6x slower.
            factors = factors.transpose(0, 1).contiguous()
        # Multiplied in the compute dtype, the kernels come out ready (no fp32 copy to cast): 65-68 dB vs fp32 in bf16.
        factors = factors[:, :, None, None].to(self.placement.dtype)
        return [self.placement.compute(kernel * factors) for kernel in self.kernels()]


def scale_channels(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``x * scale`` for an fp32 per-channel ``scale``, computed in fp32 and rounded once to ``x``'s dtype.

    (torch's in-place multiply of a bf16 map by an fp32 factor does the same 60x slower.)
    """
    return x.float().mul_(scale).to(x.dtype) if x.dtype != torch.float32 else x * scale


@dataclass(frozen=True)
class Modulation:
    """What a styled conv computes with for one style.

    Modulated kernels (the original's way), or, where the map is smaller than the weight, the
    layer's fixed kernels with the style applied to the input channels and the demodulation to
    the output channels: conv(x, w * s * d) = d * conv(x * s, w). The second touches the map
    twice instead of the weight once, so it wins on the small maps (up to 64 x 64) of the decoder's
    512-channel levels, whose weights are 5-17 M values, and the fixed kernels need no per-face copy.
    """

    kernels: list[torch.Tensor]
    bias: torch.Tensor
    input_scale: torch.Tensor | None = None  # (1, in, 1, 1) fp32
    output_scale: torch.Tensor | None = None  # (1, out, 1, 1) fp32


class StyledConv(nn.Module):
    """Modulated 3x3 conv (or 2x transposed conv + blur), then noise concat and fused leaky ReLU.

    :meth:`modulation` turns a style into what the conv computes with, once per level;
    :meth:`convolve` applies it (to the whole map or to one band) with the bias and activation,
    and :meth:`join_noise` appends the activated encoder feature as the second half of the channels.
    """

    COMPUTE_BUFFERS = ("bias", "noise_bias", "noise_scale", "blur_kernel")  # see GPENGenerator._apply

    def __init__(
        self, reader: StateDictReader, prefix: str, gain: float, upsample: bool, placement: Placement, resolution: int,
    ) -> None:
        """``resolution``: of the layer's (square) input map."""
        super().__init__()
        self.prefix = prefix
        self.placement = placement
        weight = reader.take(f"{prefix}.conv.weight")
        self.channels = weight.shape[1]
        # Input values (in x resolution^2) against weight values (out x in x 3 x 3).
        self.small_map = resolution**2 < weight.shape[1] * weight.shape[3] * weight.shape[4]
        layout = upsampling_layout(placement.device, placement.dtype, self.channels) if upsample else "conv"
        self.conv = ModulatedWeight(weight, gain, demodulate=True, layout=layout, placement=placement)
        bias = reader.take(f"{prefix}.activate.bias")
        self.register_buffer("bias", placement.compute(bias[: self.channels]), persistent=False)
        self.register_buffer("noise_bias", placement.compute(bias[self.channels :]), persistent=False)
        # The encoder feature arrives without its activation gain.
        self.noise_weight = reader.take(f"{prefix}.noise.weight").item() * ACTIVATION_GAIN
        scale = torch.full((self.channels, 1, 1, 1), self.noise_weight)
        self.register_buffer("noise_scale", placement.compute(scale), persistent=False)
        kernel = depthwise(flipped_kernel(reader, f"{prefix}.conv.blur.kernel"), self.channels) if upsample else None
        self.register_buffer("blur_kernel", None if kernel is None else placement.compute(kernel), persistent=False)

    def follow_placement(self) -> None:
        """After a move or cast: the upsampling kernels in the layout that is fastest for the new placement."""
        if self.blur_kernel is not None:
            self.conv.relayout(upsampling_layout(self.placement.device, self.placement.dtype, self.channels))

    def modulation(self, style: torch.Tensor) -> Modulation:
        """What :meth:`convolve` computes with for ``style``: fixed kernels on small maps where oneDNN runs them
        (it takes an fp32 bias with any input), modulated kernels elsewhere."""
        if not (self.small_map and fuses_on(self.placement.device, self.placement.dtype)):
            return Modulation(self.conv(style), self.bias)
        demodulation = self.conv.demodulation(style)
        # leaky_relu(d * z + b) = d * leaky_relu(z + b / d) since d > 0 (an rsqrt): the conv adds b / d, then the
        # activated output is scaled by d.
        return Modulation(
            self.conv.kernels(), self.bias.float() / demodulation, style.view(1, -1, 1, 1), demodulation.view(1, -1, 1, 1),
        )

    def convolve(self, x: torch.Tensor, modulation: Modulation) -> torch.Tensor:
        """The first half of the output: leaky ReLU of the modulated conv + bias (``modulation`` from :meth:`modulation`).

        The scales are applied in fp32 and rounded once to the compute dtype.
        """
        if modulation.input_scale is not None:
            x = scale_channels(x, modulation.input_scale)
        if self.blur_kernel is None:
            activated = conv_bias_leaky(x, modulation.kernels[0], modulation.bias, padding=1)
        else:
            upsampled = transposed_conv(x, modulation.kernels, self.conv.layout)
            activated = conv_bias_leaky(
                upsampled, self.blur_kernel, modulation.bias, padding=UPSAMPLE_BLUR_PADDING, groups=self.channels,
            )
        return activated if modulation.output_scale is None else scale_channels(activated, modulation.output_scale)

    def noise_pieces(self, feature: list[torch.Tensor]) -> list[torch.Tensor]:
        """The second half of the output, ``leaky_relu(noise_weight * feature + noise_bias)``, per piece.

        ``feature`` is the encoder feature over the output's rows, in consecutive pieces.
        """
        return [scale_bias_leaky(piece, self.noise_scale, self.noise_bias) for piece in feature]

    def noise(self, feature: list[torch.Tensor]) -> torch.Tensor:
        """:meth:`noise_pieces` as one tensor."""
        pieces = self.noise_pieces(feature)
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)

    def join_noise(
        self, activated: torch.Tensor, feature: list[torch.Tensor], out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The layer's 2C-channel output: ``activated`` (from :meth:`convolve`), then :meth:`noise`; written into ``out``
        when given.

        Noise pieces are copied straight to their rows of the output: joining them first would
        copy them twice.
        """
        pieces = self.noise_pieces(feature)
        if len(pieces) == 1:
            return torch.cat([activated, pieces[0]], dim=1, out=out)
        batch, channels, rows, columns = activated.shape
        joined = out if out is not None else torch.empty(
            (batch, 2 * channels, rows, columns), dtype=activated.dtype, device=activated.device,
            memory_format=self.placement.memory_format,
        )
        joined[:, :channels] = activated
        start = 0
        for piece in pieces:
            joined[:, channels:, start : start + piece.shape[2]] = piece
            start += piece.shape[2]
        return joined


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB (no demodulation) + bias, plus the upsampled previous image in fp32."""

    def __init__(self, reader: StateDictReader, prefix: str, upsample: bool, placement: Placement) -> None:
        super().__init__()
        self.prefix = prefix
        self.placement = placement
        weight = reader.take(f"{prefix}.conv.weight")
        self.conv = ModulatedWeight(weight, ACTIVATION_GAIN, demodulate=False, layout="conv", placement=placement)
        self.register_buffer("bias", placement.fp32(reader.take(f"{prefix}.bias")), persistent=False)
        kernel = depthwise(reader.take(f"{prefix}.upsample.kernel"), 3) if upsample else None
        self.register_buffer("upsample_kernel", None if kernel is None else placement.fp32(kernel), persistent=False)

    def project(self, halves: list[torch.Tensor], kernels: list[torch.Tensor]) -> torch.Tensor:
        """The 1x1 conv and the bias, in the compute dtype (for the whole map or one band), from the
        input in one tensor or in its two channel halves; ``kernels`` from ``self.conv``.

        The bias is added by the conv: a separate pass over the 3-channel fp32 image costs ~4 ms at
        2048 (channels-last broadcasts over 3 channels are slow), and a bias given to the skip's
        transposed conv 25 ms more.
        """
        if len(halves) == 1:
            return conv_bias(halves[0], kernels[0], self.bias.flatten())
        channels = halves[0].shape[1]
        weights = [self.placement.layout(kernels[0][:, :channels]), self.placement.layout(kernels[0][:, channels:])]
        return pointwise_conv_sum(halves, weights, self.bias.flatten())

    def finish(self, image: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        """The projected ``image`` in fp32 plus the 2x-upsampled ``skip``."""
        if skip is None:
            return image.float()
        return upsample2x(skip, self.upsample_kernel).add_(image)


class DecoderLevel(nn.Module):
    """One resolution doubling: upsampling styled conv, styled conv, ToRGB, computed band by band."""

    def __init__(self, reader: StateDictReader, index: int, placement: Placement) -> None:
        super().__init__()
        resolution = 2 ** (index + 3)
        self.up = StyledConv(reader, f"generator.convs.{2 * index}", ACTIVATION_GAIN, True, placement, resolution // 2)
        self.conv = StyledConv(reader, f"generator.convs.{2 * index + 1}", ACTIVATION_GAIN, False, placement, resolution)
        self.to_rgb = ToRGB(reader, f"generator.to_rgbs.{index}", True, placement)

    def activations(
        self, x: torch.Tensor, feature: Rows, band: Band, modulations: list[Modulation],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The level's output on ``band.rows`` from ``x``, the previous output on ``band.inputs``:
        the second conv's activated half, and the encoder feature pieces its noise half is made from."""
        upsampled = self.up.convolve(x, modulations[0])
        # The 3x3 conv needs one row on each side of the band; the rest of the slice's margin is dropped here.
        first, last = max(band.kept.start - 1, 0), min(band.kept.stop + 1, upsampled.shape[2])
        offset = 2 * band.inputs.start
        # Read once (a computed feature is computed once); the second conv's rows are a part of these.
        near = RowChunks(feature.views(slice(offset + first, offset + last)))
        # Rebinding y right after each step frees the previous tensor before the next allocates.
        y = self.up.join_noise(upsampled[:, :, first:last], near.pieces)
        del upsampled
        kept = slice(band.kept.start - first, band.kept.stop - first)
        activated = self.conv.convolve(y, modulations[1])[:, :, kept]
        del y
        return activated, near.views(kept)

    def forward(
        self, x: RowChunks, feature: Rows, styles: list[torch.Tensor], skip: torch.Tensor,
        band_bytes: int, keep_output: bool,
    ) -> tuple[RowChunks | None, torch.Tensor]:
        """(this level's output, or None when not ``keep_output``; the image so far at this resolution).

        The output is joined into one 2C-channel tensor only where the next level needs it; the
        last level's ToRGB reads the two halves as they are.
        """
        modulations = [self.up.modulation(styles[0]), self.conv.modulation(styles[1])]
        rgb_kernels = self.to_rgb.conv(styles[2])
        _, _, rows, columns = feature.shape
        element = x.pieces[0].element_size()
        bands = upsampling_bands(x.shape[2], band_height(rows, columns * 2 * self.conv.channels * element, band_bytes))
        output, images = HaloWriter(2 * x.shape[2], UPSAMPLING_MARGIN), []
        for band, following in zip(bands, [*bands[1:], None]):
            activated, near = self.activations(x.read(band.inputs), feature, band, modulations)
            if keep_output:
                halves = [self.conv.join_noise(activated, near, output.piece(band.rows, activated, 2 * self.conv.channels))]
                output.written()
            else:
                halves = [activated, self.conv.noise(near)]
            images.append(self.to_rgb.project(halves, rgb_kernels))
            # Free what no later band reads: it reads x from its input rows, the feature from one row above its own.
            del activated, near, halves
            x.release_above(following.inputs.start if following else x.shape[2])
            feature.release_above(following.rows.start - 1 if following else feature.shape[2])
        image = images[0] if len(images) == 1 else torch.cat(images, dim=2)
        return (output.chunks() if keep_output else None), self.to_rgb.finish(image, skip)


class Decoder(nn.Module):
    """Constant input, ``conv1`` + ``to_rgb1`` at 4x4, then one :class:`DecoderLevel` per doubling."""

    COMPUTE_BUFFERS = ("constant",)  # in the compute dtype (see GPENGenerator._apply)

    def __init__(self, reader: StateDictReader, config: GPENConfig, placement: Placement) -> None:
        super().__init__()
        self.register_buffer("constant", placement.compute(reader.take("generator.input.input")), persistent=False)
        self.conv1 = StyledConv(reader, "generator.conv1", 1.0, False, placement, resolution=4)
        self.to_rgb1 = ToRGB(reader, "generator.to_rgb1", False, placement)
        self.levels = nn.ModuleList(DecoderLevel(reader, level - 3, placement) for level in range(3, config.log_size + 1))
        styled = [self.conv1, self.to_rgb1] + [layer for level in self.levels for layer in level.children()]
        self.modulation = StyleModulation(reader, [f"{layer.prefix}.conv" for layer in styled], placement)

    def forward(self, features: list[Rows], styles: list[torch.Tensor], band_bytes: int) -> torch.Tensor:
        """One sample. ``features`` (full resolution first) is consumed: each is freed after its level.

        ``styles`` holds one style per modulated layer, in the order of use; ``band_bytes`` bounds
        the size of a level's intermediates (see ``bands``), the result does not depend on it.
        """
        style = iter(styles)
        feature = features.pop()
        x = self.conv1.join_noise(self.conv1.convolve(self.constant, self.conv1.modulation(next(style))), [feature.whole()])
        skip = self.to_rgb1.finish(self.to_rgb1.project([x], self.to_rgb1.conv(next(style))), None)
        x = RowChunks([x])
        for index, level in enumerate(self.levels):
            level_styles = [next(style) for _ in range(3)]
            keep_output = index < len(self.levels) - 1
            x, skip = level(x, features.pop(), level_styles, skip, band_bytes, keep_output)
        return skip
