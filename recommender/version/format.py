"""A version folder's layout, spelled once, and the stamp that says which layout a folder has.

::

    serving/ACTIVE.json          the pointer: {"version": 7, "path": "v0007", ...}
    serving/.staging-v0008/      a version being built
    serving/v0007/               a published version, never modified:
        FORMAT.json              {"format": FORMAT_VERSION, "recsys": "<package version>"}
        recs.duckdb              every model's lists, the catalogue, similar and popular movies,
                                 the ranker's feature tables, version_info
        models/<model>.npz       every production model (and the ranker's booster)
        ids.npz                  user_ids (rows) and item_ids (columns) of the matrices below
        history.npz              every positive, data = its Unix time (recency orders reasons)
        rated.npz                every rated movie, any value: what no list may hold
        links.npz                the movies' co-occurrence links and genres reasons are chosen from

A folder is read only when its stamp is this code's ``FORMAT_VERSION``: anything else (an
older release's folder, which has no stamp) is refused with one line saying to republish.
Bump ``FORMAT_VERSION`` whenever a file, table or column of a version changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from recommender import __version__
from recommender.errors import RecsysError

#: The layout this code writes and reads.
FORMAT_VERSION = 2

ACTIVE_FILE = "ACTIVE.json"
STAGING_PREFIX = ".staging-"
STAMP_FILE = "FORMAT.json"
LISTS_FILE = "recs.duckdb"
MODELS_DIR = "models"
IDS_FILE = "ids.npz"
HISTORY_FILE = "history.npz"
RATED_FILE = "rated.npz"
LINKS_FILE = "links.npz"

REPUBLISH = "republish with `recsys precompute`"
#: The files every published folder holds (models/ besides).
REQUIRED_FILES = (STAMP_FILE, LISTS_FILE, IDS_FILE, HISTORY_FILE, RATED_FILE, LINKS_FILE)


class StaleVersion(RecsysError):
    """A version folder written in another layout than this code reads."""


def folder_name(version: int) -> str:
    return f"v{version:04d}"


def model_file(folder: Path, model: str) -> Path:
    return Path(folder) / MODELS_DIR / f"{model}.npz"


def stamp(folder: Path) -> None:
    """Write the folder's format stamp (the last file of a build: a folder without one was
    never finished)."""
    text = json.dumps({"format": FORMAT_VERSION, "recsys": __version__})
    (Path(folder) / STAMP_FILE).write_text(text + "\n")


def format_of(folder: Path) -> int | None:
    """The folder's format stamp, None when it has none (or an unreadable one)."""
    try:
        return int(json.loads((Path(folder) / STAMP_FILE).read_text())["format"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def missing_files(folder: Path) -> list[str]:
    """The files of REQUIRED_FILES that ``folder`` lacks (all of them when it is gone)."""
    return [name for name in REQUIRED_FILES if not (Path(folder) / name).is_file()]


def require_current(folder: Path) -> None:
    """Refuse, in one line, a folder whose layout is not this code's."""
    found = format_of(folder)
    if found != FORMAT_VERSION:
        written = "has no format stamp (an older release wrote it)" if found is None else f"has format {found}"
        raise StaleVersion(f"version folder {folder} {written}; this code reads format {FORMAT_VERSION}: {REPUBLISH}")
