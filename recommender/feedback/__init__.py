"""Feedback stores: where ratings posted to the API live until `recsys ingest-feedback`
copies them into the warehouse.

- ``DuckDBFeedbackStore`` (``embedded.py``, the default): the server's own file, one server
  process per file;
- ``PostgresFeedbackStore`` (``postgres.py``, ``RECSYS_FEEDBACK_URL``): shared by any number of
  workers and servers, which hear of each other's ratings through ``LISTEN``/``NOTIFY``;
- ``HttpFeedbackSource`` (``http.py``): a running server's feedback through its admin API.
"""

from recommender.feedback.base import (
    PAGE,
    FeedbackError,
    FeedbackRow,
    FeedbackSource,
    FeedbackStore,
    FeedbackStoreBusy,
    FeedbackUnavailable,
)
from recommender.feedback.embedded import DuckDBFeedbackStore
from recommender.feedback.http import HttpFeedbackSource

__all__ = [
    "PAGE",
    "DuckDBFeedbackStore",
    "FeedbackError",
    "FeedbackRow",
    "FeedbackSource",
    "FeedbackStore",
    "FeedbackStoreBusy",
    "FeedbackUnavailable",
    "HttpFeedbackSource",
]
