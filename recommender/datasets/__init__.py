"""Data sets shipped inside the package, and the MovieLens editions ``recsys download`` knows.

``ml-latest-small`` is GroupLens' MovieLens small data set (610 users, 100,836 ratings, the
ml-25m file layout), gzip-compressed; the ingest reads ``*.csv.gz`` as it reads ``*.csv``.
Its licence (``README.txt`` beside the files) allows redistribution under the same
conditions, which include: research use only, no endorsement implied, cite the data set.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

#: The data set ``recsys run`` and ``recsys ingest`` use when no folder is given.
BUNDLED_NAME = "ml-latest-small"


def bundled_dir(name: str = BUNDLED_NAME) -> Path:
    """The folder of a bundled data set (a real folder: the package is never zipped)."""
    return Path(str(files(__name__) / name))


@dataclass(frozen=True)
class Edition:
    """A MovieLens edition on files.grouplens.org: ``<name>.zip``, with ``<name>.zip.md5`` beside it."""

    name: str
    #: md5 published by GroupLens; None: read it from the ``.md5`` file beside the zip.
    md5: str | None = None
    #: The folder the zip unpacks to, when it is not ``name`` (ml-10m's is ml-10M100K).
    folder: str | None = None
    #: The file that says the folder holds the edition (its ratings).
    ratings: str = "ratings.csv"

    @property
    def unpacks_to(self) -> str:
        return self.folder or self.name


#: Every MovieLens edition, by name.
EDITIONS = {
    edition.name: edition
    for edition in (
        Edition("ml-latest-small"),
        Edition("ml-latest"),
        Edition("ml-100k", ratings="u.data"),
        Edition("ml-1m", ratings="ratings.dat"),
        Edition("ml-10m", folder="ml-10M100K", ratings="ratings.dat"),
        Edition("ml-20m"),
        Edition("ml-25m", "6b51fb2759a8657d3bfcbfc42b592ada"),
        Edition("ml-32m"),
    )
}
