"""A running server's feedback, read through its admin API (``GET /admin/feedback``): how
`recsys ingest-feedback --server` copies a file the server holds."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from recommender.feedback.base import PAGE, FeedbackError, FeedbackRow


def admin_hint(status: int) -> str:
    """What a refused admin request means for the user (the server answers 401 for a missing or
    wrong X-API-Key, 403 when it has no admin key at all)."""
    if status == 401:
        return ": the admin key sent (RECSYS_ADMIN_KEY here) does not match the server's RECSYS_ADMIN_KEY"
    if status == 403:
        return ": the server has no admin key; start it with RECSYS_ADMIN_KEY set"
    return ""


class HttpFeedbackSource:
    """A running server's feedback, page by page through ``GET /admin/feedback``."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 60.0) -> None:
        if not api_key:
            raise FeedbackError("reading feedback through the server needs its admin key: set RECSYS_ADMIN_KEY")
        self.base_url, self._key, self._timeout = base_url.rstrip("/"), api_key, timeout_s
        self._store_id: str | None = None

    @property
    def store_id(self) -> str:
        if self._store_id is None:
            self.since(0, 1)
        assert self._store_id is not None
        return self._store_id

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        url = f"{self.base_url}/admin/feedback?" + urllib.parse.urlencode({"after": after, "limit": limit})
        request = urllib.request.Request(url, headers={"X-API-Key": self._key})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                page = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise FeedbackError(f"{url}: the server answered {exc.code} {exc.reason}{admin_hint(exc.code)}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FeedbackError(f"{url}: cannot read the server's feedback ({exc})") from exc
        self._store_id = page["store_id"]
        return [FeedbackRow(r["seq"], r["user_id"], r["movie_id"], r["rating"], r["ts"]) for r in page["ratings"]]
