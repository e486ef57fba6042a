"""``embver ui``: a local web app to browse the registry and look at versions.

:func:`create_app` builds the FastAPI application over an open store;
:mod:`embver.server.security` holds the guards every request passes. Names load on
first use, so ``import embver.server.security`` (the CLI's) pulls in no FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'embver.server' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    # Bind every name the submodule provides, so later look-ups skip this function and
    # a submodule named like one of its functions (composite.impact) yields the function.
    globals().update({n: getattr(loaded, n) for n, m in _EXPORTS.items() if m == module})
    return globals()[name]
