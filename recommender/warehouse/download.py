"""``recsys download``: fetch a GroupLens zip, verify it, unpack it atomically."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from recommender.datasets import EDITIONS
from recommender.errors import RecsysError

BASE_URL = "https://files.grouplens.org/datasets/movielens"
#: What to do without the network, said with every network failure.
OFFLINE_HINT = (
    "offline, `recsys run` and `recsys ingest` use the bundled ml-latest-small, and `recsys ingest DIR` "
    "loads a copy you already have"
)


class DownloadError(RecsysError):
    """Network failure, checksum mismatch or a broken archive; nothing was left behind."""


def download(name: str, data_dir: Path, *, base_url: str = BASE_URL, progress: bool = True) -> Path:
    """Download ``name`` into ``data_dir`` (the folder its zip holds: ``data_dir/name``, or
    ml-10m's ``ml-10M100K``) and return that folder.

    Everything is written to a temporary folder next to the target and renamed into
    place only after the checksum and the unpacking succeeded.
    """
    if name not in EDITIONS:
        raise DownloadError(f"unknown data set {name!r}; choose one of {', '.join(EDITIONS)}")
    dataset = EDITIONS[name]
    data_dir = Path(data_dir)
    target = data_dir / dataset.unpacks_to
    if (target / dataset.ratings).exists():
        return target
    data_dir.mkdir(parents=True, exist_ok=True)
    zip_url = f"{base_url.rstrip('/')}/{name}.zip"
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=data_dir) as tmp:
        tmp_path = Path(tmp)
        archive = tmp_path / f"{name}.zip"
        digest = _fetch(zip_url, archive, progress)
        expected = dataset.md5 or _fetch_text(zip_url + ".md5").split()[0].lower()
        if digest != expected:
            raise DownloadError(f"{zip_url}: md5 {digest} does not match the published {expected}")
        try:
            with zipfile.ZipFile(archive) as zf:
                _safe_extract(zf, tmp_path / "unpacked")
        except zipfile.BadZipFile as exc:
            raise DownloadError(f"{zip_url}: not a valid zip archive ({exc})") from exc
        unpacked = tmp_path / "unpacked" / dataset.unpacks_to
        if not (unpacked / dataset.ratings).exists():
            raise DownloadError(f"{zip_url}: the archive has no {dataset.unpacks_to}/{dataset.ratings}")
        if target.exists():
            shutil.rmtree(target)
        unpacked.rename(target)
    return target


def _fetch(url: str, dest: Path, progress: bool) -> str:
    md5 = hashlib.md5()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    md5.update(chunk)
                    bar.update(len(chunk))
                    received += len(chunk)
        if total is not None and received != total:
            raise DownloadError(f"{url}: connection closed after {received} of {total} bytes")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DownloadError(f"{url}: download failed ({_reason(exc)}); {OFFLINE_HINT}") from exc
    return md5.hexdigest()


def _fetch_text(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read().decode("ascii", errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: could not fetch the checksum ({_reason(exc)}); {OFFLINE_HINT}") from exc


def _reason(exc: Exception) -> str:
    """urllib's errors without their wrapping: 'Connection refused', 'HTTP Error 404: Not Found'."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.HTTPError) or reason is None:
        return str(exc)
    return str(getattr(reason, "strerror", None) or reason)


def _safe_extract(zf: zipfile.ZipFile, dest: Path) -> None:
    root = dest.resolve()
    for member in zf.infolist():
        target = (dest / member.filename).resolve()
        if not target.is_relative_to(root):
            raise DownloadError(f"archive member {member.filename!r} would land outside the target folder")
    zf.extractall(dest)
