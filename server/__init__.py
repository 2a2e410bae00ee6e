"""The HTTP API: ``create_app(ServerConfig)`` builds the Litestar application."""

from server.app import create_app
from server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
