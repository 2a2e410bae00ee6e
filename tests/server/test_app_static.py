"""The demo app's web export at /app, from the API's origin: index.html for /app and /app/,
its assets, a JSON 404 that says how to build it when it is absent, and nothing of it in the
OpenAPI schema. No published version is needed: the app is served while the API is not ready."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from recommender.config import Settings
from server import ServerConfig, create_app

INDEX = '<!DOCTYPE html><html><body><div id="root"></div><script src="/app/_expo/static/js/web/index-1.js" defer></script></body></html>'  # noqa: E501
ASSET = "console.log('demo');"


@pytest.fixture
def export(tmp_path):
    folder = tmp_path / "dist"
    (folder / "_expo" / "static" / "js" / "web").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "_expo" / "static" / "js" / "web" / "index-1.js").write_text(ASSET)
    return folder


def _client(tmp_path, **env) -> TestClient:
    settings = Settings(warehouse=tmp_path / "warehouse" / "movielens.duckdb")
    environ = {"RECSYS_FEEDBACK_DB": str(tmp_path / "feedback.duckdb"), "RECSYS_ACCESS_LOG": "off", **env}
    return TestClient(create_app(ServerConfig.from_env(settings, environ=environ)))


@pytest.mark.parametrize("path", ["/app", "/app/"])
def test_the_index_is_served_at_app(tmp_path, export, path):
    with _client(tmp_path, RECSYS_APP_DIR=str(export)) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == INDEX


def test_assets_are_served_and_a_missing_one_is_a_404(tmp_path, export):
    with _client(tmp_path, RECSYS_APP_DIR=str(export)) as client:
        asset = client.get("/app/_expo/static/js/web/index-1.js")
        head = client.head("/app/_expo/static/js/web/index-1.js")
        missing = client.get("/app/_expo/static/js/web/index-2.js")
        outside = client.get("/app/../../etc/passwd")
    assert asset.status_code == 200 and asset.text == ASSET
    assert "javascript" in asset.headers["content-type"]
    assert head.status_code == 200 and head.content == b""
    assert missing.status_code == 404
    assert outside.status_code == 404


@pytest.mark.parametrize("configured", [False, True], ids=["no app dir", "folder without index.html"])
def test_without_an_export_app_is_a_json_404_saying_how_to_build_it(tmp_path, configured):
    env = {"RECSYS_APP_DIR": str(tmp_path / "no-such-dist")} if configured else {}
    with _client(tmp_path, **env) as client:
        for path in ("/app", "/app/", "/app/_expo/static/js/web/index-1.js"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/json"), path
            assert "recsys build-app" in response.json()["detail"], path


@pytest.mark.parametrize("built", [False, True], ids=["not built", "built"])
def test_the_schema_does_not_list_app(tmp_path, export, built):
    env = {"RECSYS_APP_DIR": str(export)} if built else {}
    with _client(tmp_path, **env) as client:
        schema = client.get("/schema/openapi.json").json()
    assert schema["paths"], "the API's own paths are listed"
    assert not [p for p in schema["paths"] if p.startswith("/app")]


def test_the_api_is_unchanged_beside_the_app(tmp_path, export):
    """The strict JSON check and the rate limit still answer on the API routes."""
    with _client(tmp_path, RECSYS_APP_DIR=str(export), RECSYS_RATE_LIMIT_RATINGS="2") as client:
        for _ in range(5):
            assert client.get("/app/").status_code == 200  # not counted by the ratings limit
        form = client.post("/users/1/ratings", content=b"movie_id=1", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        client.post("/users/1/ratings", json={"movie_id": 1, "rating": 4.0})
        limited = client.post("/users/1/ratings", json={"movie_id": 1, "rating": 4.0})
        assert limited.status_code == 429
        assert client.get("/health/live").json() == {"live": True}
