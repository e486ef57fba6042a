"""Downstream indexes: publish a version into a vector database, check it, migrate it.

:func:`~embver.index.base.open_target` reaches an index by URL (one backend module per
scheme behind :class:`~embver.index.base.Target`); :func:`publish`, :func:`index_status`,
:func:`migrate` and :func:`import_index` are written against ``Target`` only. Names load
on first use, so ``import embver.index`` loads no database client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.index.base import IndexURL, Target, open_target, register_target, row_hash

_EXPORTS = {
    "IndexURL": "embver.index.base",
    "Target": "embver.index.base",
    "open_target": "embver.index.base",
    "register_target": "embver.index.base",
    "row_hash": "embver.index.base",
}

__all__ = ["IndexURL", "Target", "open_target", "register_target", "row_hash"]

__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
