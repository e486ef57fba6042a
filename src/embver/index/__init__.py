"""Downstream indexes: publish a version into a vector database, check it, migrate it.

:func:`~embver.index.base.open_target` reaches an index by URL (one backend module per
scheme behind :class:`~embver.index.base.Target`); :func:`publish_version`,
:func:`index_status`, :func:`migrate_index`, :func:`prune_index` and :func:`read_index` are
written against ``Target`` only. Names load on first use, so ``import embver.index`` loads
no database client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.index.base import IndexURL, Target, open_target, register_target, row_hash
    from embver.index.importer import IndexRows, read_index
    from embver.index.migrate import MigrationPlan, migrate_index
    from embver.index.prune import PruneResult, prune_index
    from embver.index.publish import PublishResult, publish_version
    from embver.index.status import IndexStatus, index_status

_EXPORTS = {
    "IndexURL": "embver.index.base",
    "Target": "embver.index.base",
    "open_target": "embver.index.base",
    "register_target": "embver.index.base",
    "row_hash": "embver.index.base",
    "IndexRows": "embver.index.importer",
    "read_index": "embver.index.importer",
    "MigrationPlan": "embver.index.migrate",
    "migrate_index": "embver.index.migrate",
    "PruneResult": "embver.index.prune",
    "prune_index": "embver.index.prune",
    "PublishResult": "embver.index.publish",
    "publish_version": "embver.index.publish",
    "IndexStatus": "embver.index.status",
    "index_status": "embver.index.status",
}

__all__ = [
    "IndexRows",
    "IndexStatus",
    "IndexURL",
    "MigrationPlan",
    "PruneResult",
    "PublishResult",
    "Target",
    "index_status",
    "migrate_index",
    "open_target",
    "prune_index",
    "publish_version",
    "read_index",
    "register_target",
    "row_hash",
]

__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
