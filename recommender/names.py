"""The model registry: each model's name and where its class lives, in the order jobs run
them (diverse and hybrid re-rank the tuned ALS, so they come after it).

The one source for the CLI's choices, the server's schema, SQL parameters and the classes
``recommender.models.MODELS`` imports; a light module (no model is imported here), so the CLI
can read it cheaply. A model outside this package registers through the ``recsys.models``
entry point group of its own distribution (``name = "package.module:Class"``); it then runs
after the built-in models.
"""

from __future__ import annotations

from importlib.metadata import entry_points

#: name -> "module:Class" of every built-in model.
BUILT_IN: dict[str, str] = {
    "popular": "recommender.models.popular:Popular",
    "itemknn": "recommender.models.itemknn:ItemKNN",
    "als": "recommender.models.als:ALS",
    "diverse": "recommender.models.diverse:DiverseALS",
    "hybrid": "recommender.models.hybrid:HybridALS",
    "ease": "recommender.models.ease:EASE",
}

#: The entry point group through which other distributions add models.
ENTRY_POINT_GROUP = "recsys.models"


#: The two-stage ranker's name: served when a version holds its booster (not in MODEL_NAMES: it
#: is trained by ``recommender.jobs.two_stage`` on the other models' lists, not fitted like them).
RANKER = "ranker"

#: Names a registered model may not take: the two-stage ranker's, and the CLI's "every model".
RESERVED = (RANKER, "all")


def _registry() -> dict[str, str]:
    out = dict(BUILT_IN)
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in RESERVED:
            raise ValueError(f"a model may not be named {point.name!r} ({point.value})")
        if point.name in out:
            raise ValueError(f"model {point.name!r} is registered twice ({out[point.name]}, {point.value})")
        out[point.name] = point.value
    return out


#: name -> "module:Class" of every model: the built-in ones, then the registered ones by name.
MODEL_CLASSES: dict[str, str] = _registry()

MODEL_NAMES: tuple[str, ...] = tuple(MODEL_CLASSES)

#: What the API serves: the models above and the two-stage ranker (trained by
#: recommender.jobs.two_stage on their candidates, and scored at request time).
SERVED_MODELS: tuple[str, ...] = (*MODEL_NAMES, "ranker")
