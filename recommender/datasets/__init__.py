"""Data sets shipped inside the package.

``ml-latest-small`` is GroupLens' MovieLens small data set (610 users, 100,836 ratings, the
ml-25m file layout), gzip-compressed; the ingest reads ``*.csv.gz`` as it reads ``*.csv``.
Its licence (``README.txt`` beside the files) allows redistribution under the same
conditions, which include: research use only, no endorsement implied, cite the data set.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The data set ``recsys run`` and ``recsys ingest`` use when no folder is given.
BUNDLED_NAME = "ml-latest-small"


def bundled_dir(name: str = BUNDLED_NAME) -> Path:
    """The folder of a bundled data set (a real folder: the package is never zipped)."""
    return Path(str(files(__name__) / name))
