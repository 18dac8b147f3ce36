"""Fetching an official GPEN-BFR model the first time it is needed, so that a new install restores faces at once.

A model is 75-285 MB from hosts in China that may be slow or unreachable, so the transfer is built
to survive that: it goes to a ``.part`` file (never under the model's name, which the loader would
pick up), an interrupted transfer resumes from where it stopped (HTTP Range) on the next try, and
the file is renamed only once it is complete (the size the server announced) and loads as the
expected model with the loader's own checks. The official files publish no checksum, so the
sha256 of the verified file is recorded beside it (trust on first use): a file that changes later
is reported, not silently used as the one that was verified. A mirror (``GPEN_MODELS_URL``, a
WebUI setting) serves the files under their official names and replaces the official hosts.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..errors import CheckpointError, DownloadError
from .arch.config import RELEASED_CONFIGS
from .checkpoint import describe_config, infer_config, read_state_dict

OFFICIAL_HOST = "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models"
"""Where yangxy/GPEN's README links GPEN-BFR-256/512 (and, in its 2022-03 version, GPEN-BFR-2048)."""
MODELSCOPE_HIRES = "https://www.modelscope.cn/models/damo/cv_gpen_image-portrait-enhancement-hires/resolve/master"
"""The ModelScope model the README points to for GPEN-BFR-1024 (pytorch_model.pt) and 2048 (pytorch_model-2048.pt)."""
MODELS_URL_ENV = "GPEN_MODELS_URL"
MODELS_DIR_ENV = "GPEN_MODELS_DIR"
TIMEOUT_S = 30
"""Per socket operation: a stalled host fails in half a minute instead of hanging a generation."""
CHUNK = 1 << 20
USER_AGENT = "sd-webui-gpen"
SHA256_SUFFIX = ".sha256"
PART_SUFFIX = ".part"
SHA256_HEX_DIGITS = 64


@dataclass(frozen=True)
class OfficialModel:
    """A released GPEN-BFR model: its name, the size it must load as, and where it is published (tried in order)."""

    name: str
    size: int
    urls: tuple[str, ...]

    @property
    def filename(self) -> str:
        """Its name on disk and on a mirror: the official release name, whatever the source calls it."""
        return f"{self.name}.pth"


OFFICIAL_MODELS = {
    model.name: model
    for model in (
        OfficialModel("GPEN-BFR-256", 256, (f"{OFFICIAL_HOST}/GPEN-BFR-256.pth",)),
        OfficialModel("GPEN-BFR-512", 512, (f"{OFFICIAL_HOST}/GPEN-BFR-512.pth",)),
        OfficialModel("GPEN-BFR-1024", 1024, (f"{MODELSCOPE_HIRES}/pytorch_model.pt",)),
        OfficialModel(
            "GPEN-BFR-2048", 2048, (f"{OFFICIAL_HOST}/GPEN-BFR-2048.pth", f"{MODELSCOPE_HIRES}/pytorch_model-2048.pt")
        ),
    )
}
AUTOMATIC_DOWNLOAD = OFFICIAL_MODELS["GPEN-BFR-2048"]
"""What "Automatic" fetches when no model is installed: the most detailed one, made for photos."""

_LOCK = threading.Lock()
"""One transfer at a time in a process: the WebUI's UI and API threads must not write one ``.part`` together."""


@dataclass(frozen=True)
class DownloadSource:
    """Whether a missing official model may be fetched, and the mirror base URL that replaces the official hosts."""

    allowed: bool = True
    mirror: str = ""

    def urls(self, model: OfficialModel) -> tuple[str, ...]:
        return (f"{self.mirror.rstrip('/')}/{model.filename}",) if self.mirror else model.urls


class _Failed(Exception):
    """One source's failure, as the reason the final DownloadError lists for it; ``resumable``: bytes were kept."""

    def __init__(self, reason: str, resumable: bool = False) -> None:
        super().__init__(reason)
        self.resumable = resumable


def default_models_dir() -> Path:
    """The CLI's models folder: ``GPEN_MODELS_DIR``, else ``~/.cache/gpen``."""
    return Path(os.environ.get(MODELS_DIR_ENV) or Path.home() / ".cache" / "gpen")


def mirror_url(setting: str = "") -> str:
    """The mirror base URL: a non-empty setting, else ``GPEN_MODELS_URL`` (empty: the official hosts)."""
    return setting.strip() or os.environ.get(MODELS_URL_ENV, "").strip()


def model_file(value: str | None, folder: Path, source: DownloadSource) -> Path:
    """What the CLI's ``--model`` names: an existing file, else an official name (none: GPEN-BFR-2048) in ``folder``.

    An existing path wins over an official name; anything else is returned as a path, for the
    loader to say that there is no such file.
    """
    if value is not None and (Path(value).exists() or value not in OFFICIAL_MODELS):
        return Path(value)
    return fetch_model(OFFICIAL_MODELS[value] if value else AUTOMATIC_DOWNLOAD, folder, source)


def fetch_model(model: OfficialModel, folder: Path, source: DownloadSource) -> Path:
    """``folder/<model>.pth``, downloaded and verified first if it is not there.

    A file already there is used as it is (users may put any GPEN file under an official name).
    Raises ``DownloadError`` naming the URL, the folder and the file to put there by hand.
    """
    path = Path(folder) / model.filename
    with _LOCK:
        if path.is_file():
            return path
        urls = source.urls(model)
        if not source.allowed:
            raise _manual_error(model, path, urls, "is not installed and downloading models is turned off", "downloads are off")
        failures: list[_Failed] = []
        for url in urls:
            try:
                _download(url, model, path)
                return path
            except _Failed as failure:
                failures.append(failure)
        reasons = "; ".join(f"{url}: {failure}" for url, failure in zip(urls, failures))
        if any(failure.resumable for failure in failures):
            raise DownloadError(
                f"The download of GPEN model {model.name} into {path.parent} stopped before the end ({reasons}). "
                f"Run again to resume it, or download {' or '.join(urls)} by hand and save it there as {path.name}.",
                short=f"the download of {model.name} stopped before the end; it resumes on the next run (details in the console).",
            )
        raise _manual_error(model, path, urls, f"could not be downloaded ({reasons})", "the download failed")


def verify_model_file(path: Path, model: OfficialModel) -> None:
    """Raise ``CheckpointError`` unless ``path`` loads as ``model``: the loader's layout checks, then the released size."""
    config = infer_config(read_state_dict(path), source=path)
    if config != RELEASED_CONFIGS[model.size]:
        raise CheckpointError(f"it holds {describe_config(config)}, not {model.name}")


@dataclass(frozen=True)
class ModelDigest:
    """A model file's sha256 and the one recorded when it was downloaded and verified (None: not downloaded here)."""

    sha256: str
    recorded: str | None = None

    @property
    def changed(self) -> bool:
        return self.recorded is not None and self.recorded != self.sha256

    def warning(self, path: Path) -> str:
        """What to tell the user about a changed file, and how to settle it either way."""
        return (
            f"{path} has changed since it was downloaded and verified: its sha256 is {self.sha256}, "
            f"{sha256_record(path).name} recorded {self.recorded}. If you did not replace it, delete it and it is "
            f"downloaded again; if you did, delete {sha256_record(path).name}."
        )


def sha256_record(path: Path) -> Path:
    """The file beside a downloaded model holding its verified sha256 (``sha256sum`` format)."""
    return path.with_name(path.name + SHA256_SUFFIX)


def recorded_sha256(path: Path) -> str | None:
    """The sha256 recorded for ``path`` at download, without reading the model (cheap enough for a listing)."""
    try:
        words = sha256_record(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return words[0].lower() if words and len(words[0]) == SHA256_HEX_DIGITS else None


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def model_digest(path: Path) -> ModelDigest:
    """The file's sha256 (read in full) and its record, if any."""
    return ModelDigest(file_sha256(path), recorded_sha256(path))


def downloaded_digest(path: Path) -> ModelDigest | None:
    """``model_digest`` for a file downloaded here; None, without reading it, for any other file."""
    recorded = recorded_sha256(path)
    return None if recorded is None else ModelDigest(file_sha256(path), recorded)


def _download(url: str, model: OfficialModel, path: Path) -> None:
    """Fetch ``url`` into its ``.part`` file, verify it, record its sha256 and only then give it the model's name."""
    part = _part_path(path, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    tqdm.write(f"gpen: downloading {model.name} from {url} into {path.parent}", file=sys.stderr)
    try:
        _transfer(url, part, model.filename)
    except urllib.error.HTTPError as error:
        error.close()
        raise _Failed(f"HTTP {error.code} {error.reason}") from error
    except (OSError, http.client.HTTPException) as error:  # no connection, timeouts, a connection cut mid-file
        reason = getattr(error, "reason", None) or error
        raise _stopped(part, str(reason) or type(error).__name__) from error
    try:
        verify_model_file(part, model)
    except CheckpointError as error:
        part.unlink(missing_ok=True)
        found = str(error).removeprefix(f"Cannot load {part}: ").split(". Expected ")[0]  # the loader's finding alone
        raise _Failed(f"the file sent is not a usable {model.name}: {found}") from error
    sha256_record(path).write_text(f"{file_sha256(part)}  {path.name}\n", encoding="ascii")
    os.replace(part, path)
    for stale in path.parent.glob(f"{path.name}.*{PART_SUFFIX}"):  # other sources' unfinished parts
        stale.unlink(missing_ok=True)


def _transfer(url: str, part: Path, label: str) -> None:
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores the Range), showing bytes, rate and time left.

    Raises ``_Failed`` when fewer bytes arrive than announced: the part stays for the next try.
    """
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={have}-"} if have else {})}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == http.HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE and have:  # the part is not a prefix of this file
            error.close()
            part.unlink()
            _transfer(url, part, label)
            return
        raise
    with response:
        try:
            start, total = _content_range(response, have)
        except _Failed:
            part.unlink()  # a part the server cannot continue is of no use
            raise
        with open(part, "ab" if start else "wb") as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr
        ) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size != total:
        raise _stopped(part, f"of the {total / 2**20:.1f} MB the server announced")


def _content_range(response: http.client.HTTPResponse, have: int) -> tuple[int, int | None]:
    """Where the body starts in the file and the file's size (None when the server does not say)."""
    if response.status != http.HTTPStatus.PARTIAL_CONTENT:
        length = response.headers.get("Content-Length")
        return 0, int(length) if length and length.isdigit() else None
    span, _, size = response.headers.get("Content-Range", "").removeprefix("bytes ").partition("/")
    if span.partition("-")[0] != str(have):
        raise _Failed(f"the server resumed at another offset than the {have} bytes already here ({span})")
    return have, int(size) if size.isdigit() else None


def _stopped(part: Path, reason: str) -> _Failed:
    """Why a transfer stopped; resumable when some bytes arrived (they stay in ``part``)."""
    done = part.stat().st_size if part.is_file() else 0
    if not done:
        return _Failed(reason)
    return _Failed(f"stopped after {done / 2**20:.1f} MB, kept in {part.name} for the next try ({reason})", resumable=True)


def _part_path(path: Path, url: str) -> Path:
    """The ``.part`` file of ``path`` from ``url``: one per source, so that a resumed transfer never mixes two files."""
    return path.with_name(f"{path.name}.{hashlib.sha256(url.encode()).hexdigest()[:8]}{PART_SUFFIX}")


def _manual_error(model: OfficialModel, path: Path, urls: tuple[str, ...], what: str, short_what: str) -> DownloadError:
    place = "/".join(path.parent.parts[-2:])
    sources = " or ".join(urls)
    return DownloadError(
        f"GPEN model {model.name} {what}. Download {sources} by hand and save it in {path.parent} as {path.name}.",
        short=f"{model.name} is missing and {short_what}: put {path.name} in {place} (the console says where to get it).",
    )
