"""The store: catalog (SQLAlchemy: SQLite, PostgreSQL) and vector data (Lance).

Names load on first use, so ``import embver.store.files`` (say) pulls in neither
SQLAlchemy nor Lance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.store.artifacts import Artifact, Artifacts
    from embver.store.maintenance import GcReport, VerifyReport, gc, verify
    from embver.store.space import Space
    from embver.store.store import Store, init, open
    from embver.store.version import Version

_EXPORTS = {
    "Artifact": "embver.store.artifacts",
    "Artifacts": "embver.store.artifacts",
    "GcReport": "embver.store.maintenance",
    "VerifyReport": "embver.store.maintenance",
    "gc": "embver.store.maintenance",
    "verify": "embver.store.maintenance",
    "Space": "embver.store.space",
    "Store": "embver.store.store",
    "init": "embver.store.store",
    "open": "embver.store.store",
    "Version": "embver.store.version",
}

__all__ = [
    "Artifact",
    "Artifacts",
    "GcReport",
    "Space",
    "Store",
    "VerifyReport",
    "Version",
    "gc",
    "init",
    "open",
    "verify",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
