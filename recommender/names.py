"""The model names, in the order jobs run them (diverse re-ranks the tuned ALS, so it comes
after it). The one source for the CLI's choices, the server's schema, SQL parameters and the
model registry; a light module, so the CLI can read it without importing the models."""

MODEL_NAMES: tuple[str, ...] = ("popular", "itemknn", "als", "diverse")
