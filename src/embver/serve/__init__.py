"""``embver serve``: embeddings for downstream services, by version reference.

:func:`create_serve_app` builds the OpenAI-compatible FastAPI app over an open store;
:class:`EmbeddingService` is the service without HTTP (resolve, batch, encode, map);
:func:`ray_app` deploys the same app on Ray Serve. Names load on first use, so
``import embver.serve`` pulls in no FastAPI, torch or Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.serve.app import create_serve_app, serve_security
    from embver.serve.ray_app import ray_app
    from embver.serve.requests import EmbeddingRequest, Limits
    from embver.serve.service import EmbeddingService, ServeConfig

_EXPORTS = {
    "create_serve_app": "embver.serve.app",
    "serve_security": "embver.serve.app",
    "ray_app": "embver.serve.ray_app",
    "EmbeddingRequest": "embver.serve.requests",
    "Limits": "embver.serve.requests",
    "EmbeddingService": "embver.serve.service",
    "ServeConfig": "embver.serve.service",
}

__all__ = [
    "EmbeddingRequest",
    "EmbeddingService",
    "Limits",
    "ServeConfig",
    "create_serve_app",
    "ray_app",
    "serve_security",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
