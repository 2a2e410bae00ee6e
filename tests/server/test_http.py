"""The error handlers: domain errors map to their statuses; anything else is a bug, a 500 with
an error id that the log carries too."""

import logging

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from recommender.errors import InvalidInput, NotFound, RecsysError, Unavailable
from server.http import EXCEPTION_HANDLERS


class Unmapped(RecsysError):
    """A domain error no status was chosen for."""


@pytest.mark.parametrize(
    ("error", "status"), [(InvalidInput, 400), (NotFound, 404), (Unavailable, 503), (Unmapped, 500), (KeyError, 500)]
)
def test_each_error_gets_its_status_and_an_unmapped_one_an_error_id(error, status, caplog):
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error("the detail")

    with caplog.at_level(logging.ERROR, logger="recsys.server"):
        app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)  # keep caplog's handler
        with TestClient(app) as client:
            response = client.get("/boom")
    body = response.json()
    assert response.status_code == status == body["status_code"]
    if status == 500:
        assert body["detail"] == "internal error" and "the detail" not in response.text
        assert len(body["error_id"]) == 12 and body["error_id"] in caplog.text
    else:
        assert body["detail"] == "the detail" and "error_id" not in body
