"""The store: catalog (SQLAlchemy: SQLite, PostgreSQL) and vector data (Lance)."""

from embver.store.artifacts import Artifact, Artifacts
from embver.store.maintenance import GcReport, VerifyReport, gc, verify
from embver.store.space import Space
from embver.store.store import Store, init, open
from embver.store.version import Version

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
