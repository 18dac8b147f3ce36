"""A model host on loopback for the download tests, and the checkpoints it serves.

The server is ``http.server`` in a thread, speaking the parts of HTTP the downloader relies on:
Content-Length, ``Range: bytes=N-`` answered with 206 and Content-Range, 404 for unknown paths,
and, on request, a connection cut after some bytes or a Range ignored. It records every request,
so tests can say what was (or was not) asked for.
"""
from __future__ import annotations

import io
import math
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from gpen_ext.bench.recipe import recipe_state_dict
from gpen_ext.model.arch.config import RELEASED_CONFIGS, expected_state_dict

LOOPBACK = "127.0.0.1"


@dataclass
class Route:
    """What the server answers for one path. ``cut_at``: the first answer stops after this many bytes of
    the file (having announced all of it); ``honours_range``: False answers every request with the whole file."""

    body: bytes
    status: int = 200
    content_type: str = "application/octet-stream"
    cut_at: int | None = None
    honours_range: bool = True


@dataclass
class Request:
    path: str
    range: str | None


@dataclass
class ModelServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""


def serve(server: ModelServer) -> ThreadingHTTPServer:
    """Start answering for ``server`` on a free loopback port (its ``url`` is set); the caller shuts it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            server.requests.append(Request(self.path, self.headers.get("Range")))
            route = server.routes.get(self.path)
            if route is None:
                self._answer(404, b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "text/html")
                return
            if route.status != 200:
                self._answer(route.status, route.body, route.content_type)
                return
            start = _range_start(self.headers.get("Range")) if route.honours_range else 0
            if start >= len(route.body):
                self._answer(416, b"", "text/plain")
                return
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
            self.end_headers()
            end = len(route.body) if route.cut_at is None else route.cut_at
            route.cut_at = None  # the next answer is whole
            self.wfile.write(route.body[start:end])

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.url = f"http://{LOOPBACK}:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _range_start(header: str | None) -> int:
    """The N of ``bytes=N-`` (the only form the downloader sends); 0 without a Range."""
    return int(header.removeprefix("bytes=").partition("-")[0]) if header else 0


def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the suite's "no network" for loopback only: any other host still fails as it does offline. No proxy
    is used, so that a proxy setting of the environment cannot send the requests elsewhere."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def urlopen(request: urllib.request.Request | str, *args: object, **kwargs: object):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        if urllib.parse.urlsplit(url).hostname != LOOPBACK:
            raise urllib.error.URLError(f"tests never download ({url})")
        return opener.open(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch):
    """A running ModelServer with no routes yet, reachable through ``urllib.request.urlopen``."""
    allow_loopback(monkeypatch)
    server = ModelServer()
    httpd = serve(server)
    yield server
    httpd.shutdown()
    httpd.server_close()


def saved(state_dict: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def recipe_fp16_checkpoint(size: int = 256) -> bytes:
    """A GPEN-BFR-``size`` file with the reference recipe weights, re-saved in fp16 as some copies are (half the bytes)."""
    return saved({key: value.half() for key, value in recipe_state_dict(RELEASED_CONFIGS[size]).items()})


def layout_only_checkpoint(size: int) -> bytes:
    """A file with the exact layout of GPEN-BFR-``size`` (every key and shape, the exact blur kernels) in a few MB.

    Every tensor is a view of one shared fp16 storage, which ``torch.save`` writes once: the loader's
    checks see the real layout, but the values mean nothing, so it is for the download's
    verification, not for restoring faces (GPEN-BFR-2048 in full is 285 MB).
    """
    layout = expected_state_dict(RELEASED_CONFIGS[size])
    largest = max(math.prod(entry) for entry in layout.values() if isinstance(entry, tuple))
    shared = torch.randn(largest, generator=torch.Generator().manual_seed(2048), dtype=torch.float32).half()
    return saved({
        key: torch.tensor(entry, dtype=torch.float16) if key.endswith(".kernel") else shared[: math.prod(entry)].view(entry)
        for key, entry in layout.items()
    })
