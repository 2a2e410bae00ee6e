"""Serving-side artefacts: the lists users get, precomputed tables, versions and publication."""
