"""``embver serve --ray``: the same FastAPI app as a Ray Serve deployment with replicas.

Each replica opens the store itself (a store is a catalog URL plus a data folder, not
an object that travels) and builds :func:`embver.serve.app.create_serve_app` over it,
so every replica batches its own requests and holds its own models; Ray's HTTP proxy
spreads requests across them. The guards are the app's own, unchanged.
"""

from __future__ import annotations

from typing import Any

from embver.errors import DependencyError, InvalidInputError
from embver.serve.service import ServeConfig
from embver.web.security import SecurityConfig

#: the deployment's name in Ray Serve
DEPLOYMENT = "embver-serve"


def import_serve() -> Any:
    """The ``ray.serve`` module, or a DependencyError saying how to install it."""
    try:
        from ray import serve
    except ImportError as error:
        raise DependencyError(
            f"embver serve --ray needs Ray Serve ({error}): pip install 'embver[serve]'"
        ) from None
    return serve


def ray_app(
    store_url: str,
    security: SecurityConfig,
    config: ServeConfig | None = None,
    replicas: int = 1,
    cpus_per_replica: float = 1.0,
) -> Any:
    """A Ray Serve application (``serve.run`` it) of ``replicas`` copies of the service.

    Parameters
    ----------
    store_url
        Where every replica opens the store (the folder holding ``.embver``, or the
        store's own path).
    security, config
        As for :func:`embver.serve.app.create_serve_app`.
    replicas
        Replicas of the deployment (≥ 1).
    cpus_per_replica
        Ray CPUs each replica reserves (torch in a replica uses its cores).
    """
    if replicas < 1:
        raise InvalidInputError(f"replicas={replicas} must be at least 1")
    serve = import_serve()
    options = {"num_cpus": cpus_per_replica}

    @serve.deployment(name=DEPLOYMENT, num_replicas=replicas, ray_actor_options=options)
    @serve.ingress()
    class EmbverServe:
        def __init__(self, store_url: str, security: SecurityConfig, config: ServeConfig):
            self.store_url, self.security, self.config = store_url, security, config

        def __serve_build_asgi_app__(self) -> Any:
            from embver.serve.app import create_serve_app
            from embver.store import Store
            from embver.store import open as open_store

            store: Store = open_store(self.store_url)
            return create_serve_app(store, self.security, self.config)

    deployment: Any = EmbverServe  # serve.deployment made it a Deployment
    return deployment.bind(store_url, security, config or ServeConfig())
