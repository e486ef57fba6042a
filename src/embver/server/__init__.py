"""``embver ui``: a local web app to browse the registry and look at versions.

:func:`create_app` builds the FastAPI application over an open store;
:mod:`embver.server.security` holds the guards every request passes. Names load on
first use, so ``import embver.server.security`` (the CLI's) pulls in no FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.server.app import create_app
    from embver.server.security import SecurityConfig

_EXPORTS = {
    "create_app": "embver.server.app",
    "SecurityConfig": "embver.server.security",
}

__all__ = [
    "SecurityConfig",
    "create_app",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
