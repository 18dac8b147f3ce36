"""``gpen restore --ray``: the restoration of whole photo archives as a Ray Data pipeline.

It sits above ``cli``: it reuses the CLI's checks and its restoration of one file, stage by
stage. Only ``pipeline`` imports Ray (an optional extra: ``pip install ".[cluster]"``), and ``cli``
imports it only when ``--ray`` is given, so the plain CLI and the WebUI never load Ray.
Manifests (``faces/manifests.py``) serve the plain CLI too.
"""
