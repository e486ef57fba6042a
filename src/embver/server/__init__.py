"""``embver ui``: a local web app to browse the registry and look at versions.

:func:`create_app` builds the FastAPI application over an open store;
:mod:`embver.server.security` holds the guards every request passes.
"""

from embver.server.app import create_app
from embver.server.security import SecurityConfig

__all__ = ["SecurityConfig", "create_app"]
