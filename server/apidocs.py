"""Interactive API documentation at ``/docs``: Swagger UI over the server's own OpenAPI schema,
its scripts and styles served by this server from the ``openapi-ui-bundles`` package (Swagger
UI 5.17.14, which reads OpenAPI 3.1 as Litestar writes it; release 0.3.0 of October 2024, no
dependencies), so the page works with no network access beyond the server. Not in the OpenAPI
schema: it documents the API, it is not part of it."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from openapi_ui_bundles.swagger_ui import static_path as swagger_ui_path

#: Where a person opens the documentation.
DOCS_PATH = "/docs"
#: Where Swagger UI's files are served from.
ASSETS_PATH = "/docs/assets"
#: The page itself, under the OpenAPI config's path (/schema).
PAGE = "/swagger"


def swagger_page() -> SwaggerRenderPlugin:
    """Litestar's Swagger UI page, told to load its files from this server."""
    return SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        path=PAGE,
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )


def docs_routes(schema_path: str) -> Router:
    """``/docs`` (a redirect to the page) and the page's files."""

    @get(DOCS_PATH, include_in_schema=False)
    async def docs() -> Redirect:
        return Redirect(path=f"{schema_path}{PAGE}")

    assets = create_static_files_router(
        path=ASSETS_PATH, directories=[Path(swagger_ui_path)], name="api-docs-assets", include_in_schema=False
    )
    return Router("/", route_handlers=[docs, assets])
