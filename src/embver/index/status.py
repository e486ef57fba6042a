"""``embver index status URL``: which versions an index holds and whether it matches the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from embver.errors import NotFoundError
from embver.index import journal
from embver.index.base import open_target
from embver.index.publish import refuse_foreign
from embver.index.rows import Held, held_rows, version_row_hashes

if TYPE_CHECKING:
    from embver.store.store import Store
    from embver.store.version import Version

#: example ids shown per problem
EXAMPLES = 5
#: rows per batch when the store's vectors are streamed for the hash check
STATUS_BATCH = 10_000


@dataclass(frozen=True)
class IndexStatus:
    """An index against the store.

    ``versions``: ``space@version`` -> rows readers see. ``missing``: ids of the main
    version (the one most rows carry) that the index lacks; ``extra``: rows of no version
    in the store or not in their version; ``changed``: rows whose hash differs from their
    version's vector in the store. ``mixed``: more than one version is visible.
    """

    url: str
    reader_table: str | None
    tables: list[str]
    rows: int
    versions: dict[str, int]
    missing: int = 0
    extra: int = 0
    changed: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    job: dict[str, Any] | None = None
    query_map: dict[str, Any] | None = None

    @property
    def mixed(self) -> bool:
        return len(self.versions) > 1

    @property
    def matches(self) -> bool:
        """One version, all of its rows, each with the store's hash."""
        return len(self.versions) == 1 and not self.missing and not self.extra and not self.changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "reader_table": self.reader_table,
            "tables": self.tables,
            "rows": self.rows,
            "versions": self.versions,
            "mixed": self.mixed,
            "matches": self.matches,
            "missing": self.missing,
            "extra": self.extra,
            "changed": self.changed,
            "examples": self.examples,
            "unfinished_job": self.job,
            "query_map": self.query_map,
        }


def index_status(store: Store, url: str) -> IndexStatus:
    """The status of the index at ``url`` (what readers see) against ``store``."""
    with open_target(url) as target:
        refuse_foreign(target)
        table = target.reader_table()
        tables = target.tables()
        held = held_rows(target, table) if table is not None else {}
        url_shown = str(target.url)
    versions = Counter(f"{h.space}@{h.version}" for h in held.values())
    running = journal.running(store, url)
    last = journal.last_done(store, url, kind="migrate")
    query_map = last.plan.get("query_map") if last is not None else None
    base = IndexStatus(
        url_shown, table, tables, len(held), dict(versions),
        job=running.to_dict() if running else None, query_map=query_map,
    )  # fmt: skip
    if not held:
        return base
    return _against_store(store, base, held, versions)


@dataclass
class _Differences:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _compare_version(
    version: Version, ref: str, held: dict[str, Held], *, main: bool
) -> _Differences:
    """The rows claiming ``ref`` against the version, streamed batch by batch from the store;
    ``main``: also list the version's ids the index lacks."""
    found = _Differences()
    matched: set[str] = set()
    for ids, digests in version_row_hashes(version, STATUS_BATCH):
        for row_id, digest in zip(ids, digests, strict=True):
            h = held.get(row_id)
            if h is None:
                if main:
                    found.missing.append(row_id)
            elif f"{h.space}@{h.version}" == ref:
                matched.add(row_id)
                if h.hash != digest:
                    found.changed.append(row_id)
    found.extra = [
        i for i, h in held.items() if f"{h.space}@{h.version}" == ref and i not in matched
    ]
    return found


def _against_store(
    store: Store, base: IndexStatus, held: dict[str, Held], versions: Counter[str]
) -> IndexStatus:
    extra: list[str] = []
    changed: list[str] = []
    missing: list[str] = []
    main = versions.most_common(1)[0][0]
    for ref in versions:
        try:
            version = store.get(ref)
        except NotFoundError:
            extra.extend(i for i, h in held.items() if f"{h.space}@{h.version}" == ref)
            continue
        found = _compare_version(version, ref, held, main=ref == main)
        extra += found.extra
        changed += found.changed
        missing += found.missing
    examples = {
        name: sorted(ids)[:EXAMPLES]
        for name, ids in (("missing", missing), ("extra", extra), ("changed", changed))
        if ids
    }
    return IndexStatus(
        base.url, base.reader_table, base.tables, base.rows, base.versions,
        len(missing), len(extra), len(changed), examples, base.job, base.query_map,
    )  # fmt: skip
