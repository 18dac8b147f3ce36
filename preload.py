"""Command-line options of the extension; the WebUI runs ``preload`` of every extension before parsing."""
import argparse


def preload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gpen-models-path",
        type=str,
        default=None,
        help="Folder with GPEN-BFR checkpoints (default: models/GPEN).",
    )
