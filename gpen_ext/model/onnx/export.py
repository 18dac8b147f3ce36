"""Writing a GPEN-BFR checkpoint as an ONNX file that other tools (facefusion, ReActor) load as theirs.

The product network cannot be traced as it is: it runs the decoder once per face (each face has
its own modulated weights), in horizontal bands, writing into slices of preallocated tensors.
Traced, that would fix the batch size and unroll every band. So the export traces the same
function in its textbook batched form instead (StyleGAN2's "non-fused" modulated convolution):
scale the input channels by the style, convolve with the *shared* weight, scale the output
channels by the demodulation factor. Every conv weight is then a constant of the graph, which an
ONNX runtime can pre-pack, and the batch stays dynamic. The weights are taken from the product
network after its load-time preparation, so the two share one reading of the checkpoint.

I/O convention (facefusion's ``gpen_bfr_*.onnx``): one input ``input``, (N, 3, S, S) float32 RGB
in [-1, 1]; one output ``output`` of the same shape; N dynamic.
"""
from __future__ import annotations

import importlib.util
import inspect
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import GPENError
from ..arch import GPENGenerator, build_generator
from ..arch.decoder import DEMODULATION_EPS, UPSAMPLE_BLUR_PADDING, StyledConv, ToRGB
from ..arch.resample import blur, transposed_weight, upsample2x
from ..checkpoint import infer_config, read_state_dict

INPUT_NAME = "input"
OUTPUT_NAME = "output"
OPSET = 18
"""ONNX opset of exported files (torch's exporter writes 18 or newer); onnxruntime >= 1.14 runs it."""
EXPORT_PACKAGES = ("onnx", "onnxscript")


class BatchedStyledConv(nn.Module):
    """``StyledConv`` with the style applied to activations instead of weights (any batch size)."""

    def __init__(self, layer: StyledConv) -> None:
        super().__init__()
        kernels = layer.conv.kernels()
        self.upsample = layer.blur_kernel is not None
        # An upsampling conv's kernels are stored in the layout this CPU runs fastest (resample.upsampling_layout).
        weight = transposed_weight(kernels, layer.conv.layout) if self.upsample else kernels[0]
        self.dtype = layer.placement.dtype
        self.register_buffer("weight", weight.to(self.dtype).contiguous())
        self.register_buffer("squares", layer.conv.squares.t().contiguous())
        self.register_buffer("bias", layer.bias.view(1, -1, 1, 1).contiguous())
        self.register_buffer("noise_bias", layer.noise_bias.view(1, -1, 1, 1).contiguous())
        self.register_buffer("blur_kernel", None if layer.blur_kernel is None else layer.blur_kernel.contiguous())
        self.noise_weight = layer.noise_weight

    def forward(self, x: torch.Tensor, style: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        x = x * style[:, :, None, None].to(self.dtype)
        if self.upsample:
            x = blur(F.conv_transpose2d(x, self.weight, stride=2), self.blur_kernel, UPSAMPLE_BLUR_PADDING)
        else:
            x = F.conv2d(x, self.weight, padding=1)
        demodulation = torch.rsqrt(style.square() @ self.squares + DEMODULATION_EPS)
        x = x * demodulation[:, :, None, None].to(self.dtype)
        return F.leaky_relu(torch.cat([x + self.bias, feature * self.noise_weight + self.noise_bias], dim=1), 0.2)


class BatchedToRGB(nn.Module):
    """``ToRGB`` for any batch size: modulated 1x1 conv (no demodulation), bias and skip in fp32."""

    def __init__(self, layer: ToRGB) -> None:
        super().__init__()
        self.dtype = layer.conv.placement.dtype
        self.register_buffer("weight", layer.conv.kernel0.to(self.dtype).contiguous())
        self.register_buffer("bias", layer.bias.contiguous())
        kernel = layer.upsample_kernel
        self.register_buffer("upsample_kernel", None if kernel is None else kernel.contiguous())

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        image = F.conv2d(x * style[:, :, None, None].to(self.dtype), self.weight).float() + self.bias
        return image if skip is None else image + upsample2x(skip, self.upsample_kernel)


class ExportableGenerator(nn.Module):
    """The function of a :class:`GPENGenerator`, whole maps and batched, for tracing into ONNX."""

    def __init__(self, generator: GPENGenerator) -> None:
        super().__init__()
        self.size = generator.size
        self.dtype = generator.dtype
        self.encoder = generator.encoder
        self.mapping = generator.mapping
        decoder = generator.decoder
        self.modulation = decoder.modulation
        self.register_buffer("constant", decoder.constant.contiguous())
        self.conv1 = BatchedStyledConv(decoder.conv1)
        self.to_rgb1 = BatchedToRGB(decoder.to_rgb1)
        self.convs = nn.ModuleList(
            BatchedStyledConv(conv) for level in decoder.levels for conv in (level.up, level.conv)
        )
        self.to_rgbs = nn.ModuleList(BatchedToRGB(level.to_rgb) for level in decoder.levels)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.to(self.dtype)
        features = []
        for layer in self.encoder.layers:
            x = layer.compute(x)
            features.append(x)
        code = F.linear(x.flatten(1).float(), self.encoder.final_weight)
        code = F.leaky_relu(code + self.encoder.final_bias, 0.2) * (2.0**0.5)
        styles = iter(self.modulation(self.mapping(code)))
        x = self.constant.expand(image.shape[0], -1, -1, -1)
        x = self.conv1(x, next(styles), features.pop())
        skip = self.to_rgb1(x, next(styles), None)
        for index, to_rgb in enumerate(self.to_rgbs):
            feature = features.pop()
            x = self.convs[2 * index](x, next(styles), feature)
            x = self.convs[2 * index + 1](x, next(styles), feature)
            skip = to_rgb(x, next(styles), skip)
        return skip


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_onnx` wrote, and what it cost."""

    path: Path
    size: int
    dtype: torch.dtype
    seconds: float
    file_bytes: int


def export_generator(generator: GPENGenerator, output: str | Path) -> ExportResult:
    """Write ``generator`` (built on the CPU) to ``output`` as a self-contained ONNX file.

    torch's ``torch.export``-based exporter traces with shapes only (no computation): at 2048 it
    measured 2.9 GB peak RSS here, where the older tracing exporter ran the network and kept its
    activations (9.6 GB).
    """
    output = Path(output)
    start = time.perf_counter()
    module = ExportableGenerator(generator).eval()
    example = torch.zeros(1, 3, generator.size, generator.size)
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad():
        program = torch.onnx.export(
            module, (example,), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=OPSET,
            dynamo=True, dynamic_shapes=({0: batch},), external_data=False, verbose=False,
        )
    program.save(str(output), external_data=False)
    return ExportResult(output, generator.size, generator.dtype, time.perf_counter() - start, output.stat().st_size)


def export_onnx(checkpoint: str | Path, output: str | Path, fp16: bool = False) -> ExportResult:
    """Read a GPEN-BFR checkpoint and write it as ONNX (convs in fp16 with ``fp16``; I/O float32 either way).

    torch's exporter needs ``onnx`` and ``onnxscript`` (``pip install "sd-webui-gpen[onnx]"``);
    running the file needs only onnxruntime.
    """
    missing = [name for name in EXPORT_PACKAGES if importlib.util.find_spec(name) is None]
    if missing or "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        # Said before reading and preparing 285 MB of weights.
        raise GPENError(
            f"exporting to ONNX needs torch >= 2.6 and the packages {' and '.join(EXPORT_PACKAGES)}; "
            f"missing here: {', '.join(missing) or 'torch ' + torch.__version__}. Install with: pip install onnx onnxscript"
        )
    state_dict = read_state_dict(checkpoint)
    config = infer_config(state_dict, source=checkpoint)
    generator = build_generator(config, state_dict, "cpu", torch.float16 if fp16 else torch.float32)
    del state_dict
    return export_generator(generator, output)
