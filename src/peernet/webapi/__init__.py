"""The local HTTP API the Peernet Browser and SDK speak (spec webapi.md): a FastAPI app served by
hypercorn on trio inside the node, guarded by an API key."""

from ._app import create_app
from ._backend import ApiBackend, ApiLimits, PeerSummary
from ._node_api import engine_peers, serve_node_api
from ._server import API_FILE, hypercorn_config, serve_app, write_api_file

__all__ = [
    "API_FILE",
    "ApiBackend",
    "ApiLimits",
    "PeerSummary",
    "create_app",
    "engine_peers",
    "hypercorn_config",
    "serve_app",
    "serve_node_api",
    "write_api_file",
]
