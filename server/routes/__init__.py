"""The API's routes, one module per domain; ``Services`` is what their handlers share."""

from server.routes.movies import movie_routes
from server.routes.ops import ops_routes
from server.routes.recommendations import recommendation_routes
from server.routes.shared import Services

__all__ = ["Services", "movie_routes", "ops_routes", "recommendation_routes"]
