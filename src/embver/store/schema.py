"""Catalog tables (SQLAlchemy Core). Changes go through an Alembic migration."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

spaces = sa.Table(
    "spaces",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="plain"),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("meta", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # the item table (see store/items.py): its Lance version and hashed segments;
    # segments NULL on a space whose table predates item hashing (revision 0002)
    sa.Column("items_lance_version", sa.Integer, nullable=True),
    sa.Column("items_segments", sa.JSON, nullable=True, default=list),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), nullable=False),
    sa.Column("major", sa.Integer, nullable=False),
    sa.Column("minor", sa.Integer, nullable=False),
    sa.Column("patch", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("bump", sa.String(8), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False, default=list),
    sa.Column("recipe", sa.JSON, nullable=False),
    sa.Column("identity_hash", sa.String(64), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("dtype", sa.String(16), nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("data_uri", sa.Text, nullable=False),
    sa.Column("lance_version", sa.Integer, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("segments", sa.JSON, nullable=False, default=list),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("verdict", sa.JSON, nullable=True),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # the kept model that made the vectors (models.digest, store/models.py); NULL: none kept
    sa.Column("model_digest", sa.String(64), nullable=True),
    sa.UniqueConstraint("space_id", "major", "minor", "patch", name="uq_version_number"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("from_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("to_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

edges = sa.Table(
    "edges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("child_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("meta", sa.JSON, nullable=False, default=dict),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("meta", sa.JSON, nullable=False, default=dict),
    sa.Column("data_uri", sa.Text, nullable=True),
    sa.Column("version_ids", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # blake3 of meta and payload (store/artifacts.py); NULL: written before revision 0003
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.UniqueConstraint("kind", "key", name="uq_artifact_key"),
)

#: one row per (version, task, parameters, data): figures with their intervals and chance
#: levels as JSON; the per-item or per-query scores behind them (for paired comparisons)
#: are an artifact of kind "eval-scores" under ``scores_key``
evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("task", sa.String(64), nullable=False),
    # digest of task + params + data_digest: the same evaluation is read back, not redone
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("data_digest", sa.String(64), nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
    sa.Column("scores_key", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.String(200), nullable=True),
    sa.UniqueConstraint("version_id", "key", name="uq_evaluation_key"),
)

#: kept models (store/models.py): files under ``models/<digest>/`` in the data root, or a
#: pointer (``ref``) for a model kept only by reference
models = sa.Table(
    "models",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False, default=dict),
    sa.Column("ref", sa.Text, nullable=True),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

#: the journal of downstream index publishes and migrations (embver.index.journal): which
#: physical table a job writes, how far it got, the table readers saw before (for rollback)
index_jobs = sa.Table(
    "index_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text, nullable=False),  # password redacted
    sa.Column("reader", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # publish | migrate
    sa.Column("source_ref", sa.String(300), nullable=True),
    sa.Column("target_ref", sa.String(300), nullable=False),
    sa.Column("physical_table", sa.String(200), nullable=True),
    sa.Column("old_table", sa.String(200), nullable=True),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("done_count", sa.Integer, nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | rolled-back
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=True),
)

sa.Index("ix_versions_space", versions.c.space_id)
sa.Index("ix_versions_identity", versions.c.space_id, versions.c.identity_hash)
sa.Index("ix_alias_events_space", alias_events.c.space_id, alias_events.c.name)
sa.Index("ix_edges_child", edges.c.child_id)
sa.Index("ix_edges_parent", edges.c.parent_id)
sa.Index("ix_evaluations_version", evaluations.c.version_id)
sa.Index("ix_versions_model", versions.c.model_digest)
sa.Index("ix_index_jobs_url", index_jobs.c.url)
