"""The model names, in the order jobs run them (diverse and hybrid re-rank the tuned ALS, so
they come after it). The one source for the CLI's choices, the server's schema, SQL parameters and the
model registry; a light module, so the CLI can read it without importing the models."""

MODEL_NAMES: tuple[str, ...] = ("popular", "itemknn", "als", "diverse", "hybrid", "ease")

#: What the API serves: the models above and the two-stage ranker (trained by
#: recommender.jobs.two_stage on their candidates, and scored at request time).
SERVED_MODELS: tuple[str, ...] = (*MODEL_NAMES, "ranker")
