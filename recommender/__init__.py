"""An embedded, SQL-backed MovieLens recommender.

Packages, from the bottom layer up (a package imports only the layers below it):

- ``config``, ``errors``, ``names``, ``sqlfiles``: one settings object, one error family, the
  model names, the reader of the project's ``.sql`` files.
- ``recommender.feedback``: the feedback stores (embedded DuckDB, PostgreSQL, a server over HTTP).
- ``recommender.warehouse``: DuckDB migrations, CSV ingest, splits, the feature store, Arrow/CSR export.
- ``recommender.models``: Popularity, ItemKNN, ALS, EASE, the re-ranked ALS variants and the
  two-stage ranker behind one interface.
- ``recommender.lists``: the lists users get (evaluation and serving share them), reasons.
- ``recommender.evaluation``: metrics, the run log, tuning, the report.
- ``recommender.version``: a served version's folder, its build, its registry, its request-time state.
- ``recommender.jobs``: the main pipeline, the ranker's training, folds, publication, the simulation.
- ``recommender.cli``: ``recsys``. The HTTP API lives in the top-level ``server`` package.
"""

__version__ = "0.1.0"
