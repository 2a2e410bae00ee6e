"""Recommendation models behind one interface (``Recommender``).

Names used everywhere (CLI, tables, API): ``popular``, ``itemknn``, ``als``, ``diverse``,
``hybrid``, ``ease`` (recommender/names.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recommender.models.als import ALS, ALSParams
from recommender.models.base import ModelError, Recommender, TopN, load_arrays
from recommender.models.diverse import DiverseALS, DiverseParams, mmr_rerank
from recommender.models.ease import EASE, EASEParams
from recommender.models.hybrid import HybridALS, HybridParams
from recommender.models.itemknn import ItemKNN, ItemKNNParams
from recommender.models.popular import Popular, PopularParams
from recommender.names import MODEL_CLASSES, MODEL_NAMES


def _import(target: str) -> type[Recommender]:
    module, _, name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"the model registry names {target}, which cannot be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Recommender)):
        raise ModelError(f"{target} is not a Recommender class")
    return cls


#: Every model class by name, from the registry (recommender/names.py).
MODELS: dict[str, type[Recommender]] = {name: _import(target) for name, target in MODEL_CLASSES.items()}
for _name, _cls in MODELS.items():
    if _cls.name != _name:
        raise ModelError(f"the registry names {_cls.__qualname__} {_name!r}, but its name is {_cls.name!r}")


def create(name: str, params: Mapping[str, Any] | None = None, *, seed: int = 42, **extra) -> Recommender:
    """A new, unfitted model by name; unknown names and parameters raise ModelError."""
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return MODELS[name](params, seed=seed, **extra)


def load(path: Path) -> Recommender:
    """A fitted model from an ``.npz`` artifact written by ``Recommender.save``."""
    meta, arrays = load_arrays(path)
    model = create(meta["model"], meta["params"], seed=meta["seed"])
    model._restore(arrays)
    return model


__all__ = [
    "ALS",
    "ALSParams",
    "DiverseALS",
    "DiverseParams",
    "EASE",
    "EASEParams",
    "HybridALS",
    "HybridParams",
    "ItemKNN",
    "ItemKNNParams",
    "MODELS",
    "MODEL_NAMES",
    "ModelError",
    "Popular",
    "PopularParams",
    "Recommender",
    "TopN",
    "create",
    "load",
    "mmr_rerank",
]
