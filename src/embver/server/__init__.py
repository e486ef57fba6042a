"""``embver ui``: a local web app to browse the registry and look at versions.

:func:`create_app` builds the FastAPI application over an open store;
:mod:`embver.web.security` holds the guards every request passes (shared with
``embver serve``). Names load on first use, so ``import embver.server`` pulls in no FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.server.app import create_app
    from embver.web.security import SecurityConfig

_EXPORTS = {
    "create_app": "embver.server.app",
    "SecurityConfig": "embver.web.security",
}

__all__ = [
    "SecurityConfig",
    "create_app",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
