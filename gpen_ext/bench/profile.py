"""Where one forward pass spends its time, per kind of operation (``python -m gpen_ext.bench --profile``).

The roofline says how far the network is from its convolutions alone; this says what the rest is:
each operator's own time (profiler "self" time, so nested calls are not counted twice) is put in
one of a few kinds by its name and, for convolutions, by its weight's shape.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

ELEMENTWISE = ("leaky_relu", "add", "mul", "sub", "div", "rsqrt", "square", "fill_", "clamp")
COPIES = ("copy_", "cat", "clone", "contiguous", "to", "_to_copy", "empty", "slice", "as_strided")


def operation_kind(name: str, shapes: list) -> str:
    """The kind of one profiled operator: dense conv (3x3, 1x1, upsampling phases), blur, elementwise, copies..."""
    name = name.removeprefix("aten::")
    if "convolution" in name or name in ("conv2d", "conv_transpose2d"):
        # oneDNN's in-place "conv added into a tensor" takes that tensor first: (other, input, weight, ...).
        weight_index = 2 if name.endswith("_convolution_pointwise_") else 1
        weight = shapes[weight_index] if len(shapes) > weight_index else []
        x = shapes[weight_index - 1] if len(shapes) > weight_index else []
        if len(weight) == 4 and len(x) == 4 and weight[1] == 1:  # depthwise: one filter per channel
            if x[1] == 3:
                return "rgb skip upsampling"
            return "noise half (depthwise 1x1 + bias + activation)" if tuple(weight[2:]) == (1, 1) else "blur (depthwise conv)"
        # A transposed conv's weight is (in, out, k, k); "_convolution" runs both kinds.
        if "transpose" in name or (len(x) == 4 and len(weight) == 4 and weight[0] == x[1] != weight[1]):
            return "dense conv upsampling (transposed)"
        if len(weight) == 4 and tuple(weight[2:]) == (3, 3):
            return "dense conv 3x3"
        if len(weight) == 4 and 3 in weight[:2]:  # 1x1 from or to RGB
            return "dense conv 1x1 (ToRGB, first encoder layer)"
        return "dense conv upsampling phases"
    if name in ("linear", "addmm", "mm", "matmul"):
        return "style maths"
    if any(name.startswith(op) for op in ELEMENTWISE):
        return "elementwise (bias, noise, activation)"
    if name.split(".")[0] in COPIES:
        return "copies (phase interleave, band joins, casts)"
    return "other"


def profile_forward(model: Callable, image: torch.Tensor, device: torch.device,
                    synchronize: Callable[[torch.device], None]) -> dict[str, float]:
    """Milliseconds per face per operation kind over one forward pass (after the caller's warm-up)."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch.inference_mode(), profile(activities=activities, record_shapes=True) as prof:
        model(image)
        synchronize(device)
    kinds: Counter[str] = Counter()
    for event in prof.key_averages(group_by_input_shape=True):
        own = event.self_device_time_total if device.type == "cuda" else event.self_cpu_time_total
        kinds[operation_kind(event.key, event.input_shapes or [])] += own / 1000 / image.shape[0]
    return dict(kinds.most_common())
