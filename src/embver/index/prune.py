"""``embver index prune URL``: drop the old physical tables a migration kept for rollback.

Readers' table is never dropped (:meth:`~embver.index.base.Target.refuse_dropping_the_readers`
guards every backend's ``drop`` too), nor a table an unfinished job is writing: prune
refuses while one is unfinished. Of the other physical tables, the ``keep`` that
``embver migrate URL --rollback`` would go back to first (the old tables of the latest
switches), then the newest, are kept; the rest are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embver.errors import IndexTargetError, InvalidInputError
from embver.index import journal
from embver.index.base import Target, open_target, physical_number
from embver.index.publish import refuse_foreign

if TYPE_CHECKING:
    from embver.store.store import Store


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (or, ``dry_run``, would do): tables dropped and kept."""

    url: str
    reader_table: str
    dropped: list[str]
    kept: list[str]
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "reader_table": self.reader_table,
            "dropped": self.dropped,
            "kept": self.kept,
            "dry_run": self.dry_run,
        }


def prune_index(store: Store, url: str, *, keep: int = 1, dry_run: bool = False) -> PruneResult:
    """Drop the physical tables of ``url`` beyond the readers' one and ``keep`` old ones."""
    if keep < 0:
        raise InvalidInputError(f"--keep {keep}: give the number of old tables to keep (0 or more)")
    with open_target(url) as target:
        refuse_foreign(target)
        reader = target.reader_table()
        if reader is None:
            raise IndexTargetError(f"{target.url}: nothing is published there; nothing to prune")
        busy = journal.running(store, url)
        if busy is not None:
            raise IndexTargetError(
                f"{busy.url}: an interrupted {busy.kind} to {busy.target_ref} is unfinished; "
                "rerun it before pruning"
            )
        old = _rollback_order(store, target, url, reader)
        kept, dropped = old[:keep], old[keep:]
        if not dry_run:
            for table in dropped:
                target.drop(table)
        return PruneResult(str(target.url), reader, dropped, kept, dry_run)


def _rollback_order(store: Store, target: Target, url: str, reader: str) -> list[str]:
    """The physical tables other than ``reader``: rollback targets (latest first), then by
    ``n``, newest first."""
    existing = [table for table in target.tables() if table != reader]
    newest = sorted(existing, key=lambda t: physical_number(target.reader, t) or 0, reverse=True)
    switched = [job.old_table for job in journal.jobs(store, url, status=journal.DONE)]
    first = [table for table in dict.fromkeys(switched) if table in existing]
    return first + [table for table in newest if table not in first]
