"""The demo app's web export at ``/app``, from the API's own origin (so it needs no CORS).

Mounted only when the export folder (``ServerConfig.app_dir``) holds an ``index.html``;
otherwise ``/app`` answers a JSON 404 that says how to build it. Neither is in the OpenAPI
schema: the schema describes the API, and its conformance test must not fuzz files.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.static_files import create_static_files_router

from recommender.errors import NotFound

#: Where the export is served; the app is built for it (``experiments.baseUrl`` in app.json).
APP_PATH = "/app"

NOT_BUILT = (
    "the demo app is not built: run `recsys build-app` (or `cd demo-app && npm ci && npm run export:web`), "
    "then restart `recsys serve` (it serves demo-app/dist, or the folder --app-dir / RECSYS_APP_DIR names)"
)


def export_ready(app_dir: Path | None) -> bool:
    """Whether ``app_dir`` is a web export that can be served (it has an index.html)."""
    return app_dir is not None and (Path(app_dir) / "index.html").is_file()


def app_routes(app_dir: Path | None) -> Router:
    """The static files of ``app_dir`` at /app (index.html for /app and /app/), or the 404."""
    if app_dir is not None and export_ready(app_dir):
        return create_static_files_router(
            path=APP_PATH,
            directories=[Path(app_dir).resolve()],
            html_mode=True,
            name="demo-app",
            include_in_schema=False,
        )

    @get(["/", "/{file_path:path}"], include_in_schema=False, name="demo-app-missing")
    async def not_built() -> None:
        raise NotFound(NOT_BUILT)

    return Router(APP_PATH, route_handlers=[not_built], include_in_schema=False)
