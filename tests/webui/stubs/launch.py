"""Mirrors the WebUI's ``launch.py``: ``args`` (``launch_utils.args``, the parsed command line)."""
import argparse

args = argparse.Namespace(skip_install=False)
