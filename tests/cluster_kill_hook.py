"""A Ray worker setup hook for tests/test_cluster.py: the model actor kills its own process once, mid-run.

Armed in every worker of the test's Ray session; it fires only while the marker file named by
``GPEN_TEST_KILL_MARKER`` exists, on the actor's second image, and deletes the marker first, so
exactly one actor dies exactly once (its restart finds no marker).
"""
from __future__ import annotations

import os

KILL_ON_CALL = 2


def arm() -> None:
    from gpen_ext.cluster import stages

    marker, restore = os.environ["GPEN_TEST_KILL_MARKER"], stages.ModelStage.__call__
    calls = 0

    def dying(self: stages.ModelStage, row: dict) -> dict:
        nonlocal calls
        calls += 1
        if calls == KILL_ON_CALL:
            try:
                os.remove(marker)
            except FileNotFoundError:
                pass
            else:
                os._exit(1)  # as a killed worker: no exception, no clean-up
        return restore(self, row)

    stages.ModelStage.__call__ = dying
