"""An embedded, SQL-backed MovieLens recommender.

Layers (each a subpackage):

- ``recommender.warehouse``: DuckDB migrations, CSV ingest, splits, Arrow/CSR export.
- ``recommender.models``: Popularity, ItemKNN, ALS, diversity re-ranked ALS behind one interface.
- ``recommender.evaluation``: metrics, the run log, tuning and the report.
- ``recommender.serving``: precomputed recommendation tables and their publication.

The HTTP API lives in the top-level ``server`` package.
"""

__version__ = "0.1.0"
