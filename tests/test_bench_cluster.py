"""The Ray capacity model: measured on a real photo, and where its bottleneck moves."""
from __future__ import annotations

from pathlib import Path

import pytest

from gpen_ext.bench.cluster import ArchiveCosts, capacity, run


def test_the_stage_costs_of_a_real_photo_are_measured(test_images_dir: Path) -> None:
    result = run([str(test_images_dir / "portrait_small.jpg"), "--nodes", "1", "2", "--gpu-ms-per-face", "5"])
    (photo,) = result["per_image"]
    assert photo["faces"] == 1
    assert all(photo[stage] > 0 for stage in ("decode", "detection", "alignment", "model", "paste", "encode"))
    assert result["archive"]["cpu_model_seconds_per_face"] == pytest.approx(photo["model"])
    one, two = result["capacity"]
    assert two["images_per_second"] == pytest.approx(2 * one["images_per_second"])


def test_the_bottleneck_moves_from_the_gpu_to_the_cpu_tasks_as_the_gpu_gets_faster() -> None:
    costs = ArchiveCosts(cpu_seconds_per_image=0.4, cpu_model_seconds_per_face=0.3, faces_per_image=10, images=1)
    slow_gpu = capacity(costs, nodes=1, gpu_ms_per_face=10, cores_per_node=16, gpus_per_node=1)
    fast_gpu = capacity(costs, nodes=1, gpu_ms_per_face=1, cores_per_node=16, gpus_per_node=1)
    assert (slow_gpu.bound, slow_gpu.images_per_second) == ("GPU", pytest.approx(10.0))
    assert (fast_gpu.bound, fast_gpu.images_per_second) == ("CPU tasks", pytest.approx(15 / 0.4))
    # 0.4 s of CPU tasks per image against 10 faces x 10 ms of GPU: 4 cores keep one GPU busy
    assert slow_gpu.cores_per_gpu_to_keep_it_busy == pytest.approx(4.0)
