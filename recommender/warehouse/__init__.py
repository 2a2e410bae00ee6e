"""The DuckDB warehouse: schema migrations, ingest, splits and export to models."""

from recommender.warehouse.connection import connect, transaction
from recommender.warehouse.export import SplitData, load_split
from recommender.warehouse.ingest import IngestError, ingest
from recommender.warehouse.migrations import MigrationError, migrate
from recommender.warehouse.splits import build_splits

__all__ = [
    "IngestError",
    "MigrationError",
    "SplitData",
    "build_splits",
    "connect",
    "ingest",
    "load_split",
    "migrate",
    "transaction",
]
