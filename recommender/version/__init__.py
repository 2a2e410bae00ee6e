"""A served version: the folder a publication writes (its tables, models and request-time
state), the registry of versions (pointer, publish, rollback, prune) and its reader."""
